package generator

import (
	"path"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// Label and annotation keys Istio reads.
const (
	NetworkLabel                = "topology.istio.io/network"
	ControlPlaneClustersAnno    = "topology.istio.io/controlPlaneClusters"
	IstioNamespace              = "istio-system"
	EastWestGatewayName         = "istio-eastwestgateway"
	dnsCaptureKey               = "ISTIO_META_DNS_CAPTURE"
	requestedNetworkViewEnvName = "ISTIO_META_REQUESTED_NETWORK_VIEW"
)

// install is the one model of a cluster's Istio install values. It is
// rendered as IstioOperator objects, as Helm release values and as the Sail
// operator's resources (sail.go), so the install paths cannot drift apart.
type install struct {
	version       string // of the default revision
	revision      string // the default revision
	release       string // the default revision's istiod HelmRelease
	revisions     []inventory.RevisionSpec
	remote        bool
	meshID        string
	clusterName   string
	network       string
	trustDomain   string
	remotePilot   string   // remotes: the primary's east-west gateway address
	injectionPath string   // remotes: istiod's injection path for this cluster
	external      bool     // primaries that serve remotes
	clusterLocal  []string // primaries: hosts their istiod keeps cluster-local
	ambient       bool     // mesh.dataplane ambient: istiod, cni and ztunnel charts in ambient mode
	global        []string // ambient: namespaces whose istio.io/global=true Services are global
	// gateway is the cluster's east-west gateway (inventory), nil without
	// one.
	gateway *inventory.EastWestGateway
}

// sidecarGateway reports whether the cluster runs the east-west gateway of
// the sidecar data plane (the gateway chart, or the IstioOperator's
// ingress gateway). The ambient data plane's is a Gateway API Gateway
// (ambientEastWestGateway).
func (in install) sidecarGateway() bool { return in.gateway != nil && !in.ambient }

func (g *gen) installOf(c *inventory.Cluster) install {
	m := g.inv.Mesh
	def := m.Istio.DefaultRevision()
	in := install{
		version:     def.Version,
		revision:    def.Name,
		release:     def.Release,
		revisions:   m.Istio.RevisionSpecs(),
		meshID:      m.ID,
		clusterName: c.Name,
		network:     c.Network,
		trustDomain: m.TrustDomain,
		gateway:     c.EastWestGateway,
	}
	if g.topo.Ambient {
		in.ambient = true
		in.global = g.topo.GlobalNamespaces()
	}
	if c.Role == inventory.RoleRemote {
		in.remote = true
		if p := g.topo.Cluster(c.Primary); p != nil && p.EastWestGateway != nil {
			in.remotePilot = p.EastWestGateway.Address
		}
		in.injectionPath = "/inject/cluster/" + c.Name + "/net/" + c.Network
	} else {
		in.external = len(g.topo.Cluster(c.Name).Remotes()) > 0
		in.clusterLocal = g.topo.ClusterLocalHosts(c.Name)
	}
	return in
}

// values are the install values shared by the IstioOperator and the charts.
func (in install) values() *Values {
	v := &Values{Global: &GlobalValues{
		MeshID:             in.meshID,
		MultiCluster:       &MultiCluster{ClusterName: in.clusterName},
		Network:            in.network,
		RemotePilotAddress: in.remotePilot,
		ExternalIstiod:     in.external,
	}}
	if in.remote {
		v.IstiodRemote = &IstiodRemoteValues{InjectionPath: in.injectionPath}
		// Istio's primary-remote guide installs a remote's istiod chart with
		// global.configCluster=true: the remote keeps its own Istio
		// configuration (CRDs, validation), which the primary reads.
		v.Global.ConfigCluster = true
	}
	if in.ambient {
		v.Pilot = in.ambientPilot()
	}
	return v
}

// profile is the Istio profile of the cluster's control plane: remote
// for a remote, ambient with the ambient data plane, else none (the
// charts' default).
func (in install) profile() string {
	switch {
	case in.remote:
		return "remote"
	case in.ambient:
		return ambientProfile
	}
	return ""
}

func (in install) meshConfig() *MeshConfig {
	mc := &MeshConfig{
		TrustDomain:   in.trustDomain,
		DefaultConfig: &ProxyConfig{ProxyMetadata: map[string]string{dnsCaptureKey: "true"}},
	}
	if len(in.clusterLocal) > 0 {
		// exportTo with remote-secrets: istiod gives proxies of a
		// cluster-local host only the endpoints of their own cluster
		// (pilot's EndpointBuilder), so a cluster that may not call the
		// service, and does not run it, gets none.
		mc.ServiceSettings = []ServiceSettings{{
			Settings: ServiceSettingsSettings{ClusterLocal: true},
			Hosts:    in.clusterLocal,
		}}
	}
	if in.ambient {
		mc.ServiceScopeConfigs = in.serviceScopeConfigs()
	}
	return mc
}

func (in install) controlPlane() *IstioOperator {
	var iop IstioOperator
	loadTemplate("control-plane.yaml", &iop)
	iop.Spec.Tag = in.version
	iop.Spec.Revision = in.revision
	if p := in.profile(); p != "" {
		iop.Spec.Profile = p
	}
	iop.Spec.MeshConfig = in.meshConfig()
	iop.Spec.Values = in.values()
	return &iop
}

func (in install) eastWestGateway() *IstioOperator {
	var iop IstioOperator
	loadTemplate("eastwest-gateway.yaml", &iop)
	iop.Spec.Tag = in.version
	iop.Spec.Revision = in.revision
	gw := &iop.Spec.Components.IngressGateways[0]
	gw.Label[NetworkLabel] = in.network
	if l, v := in.gatewayPortLabel(); l != "" {
		gw.Label[l] = v
		for i := range gw.K8s.Service.Ports {
			if p := &gw.K8s.Service.Ports[i]; p.Name == "tls" {
				p.Port = in.gateway.Port
			}
		}
	}
	gw.K8s.Env = append(gw.K8s.Env, EnvVar{Name: requestedNetworkViewEnvName, Value: in.network})
	if iop.Spec.Values.Global == nil {
		iop.Spec.Values.Global = &GlobalValues{}
	}
	// Exactly what samples/multicluster/gen-eastwest-gateway.sh emits:
	// global.network, and no meshID or clusterName (the script has ignored
	// --mesh and --cluster since the gateway's proxy takes both from the
	// injecting istiod).
	iop.Spec.Values.Global.Network = in.network
	return &iop
}

// gatewayPortLabel is the label that tells istiod which port of the
// east-west gateway Service carries cross-network mTLS, when it is not
// Istio's default 15443 (pilot's networkManager.getGatewayDetails): without
// it istiod looks for 15443 on the Service, finds none, and treats the
// network as having no gateway at all.
func (in install) gatewayPortLabel() (string, string) {
	if in.gateway == nil || in.gateway.Port == inventory.DefaultGatewayPort {
		return "", ""
	}
	return gatewayPortLabel, strconv.Itoa(in.gateway.Port)
}

// gatewayPortLabel is Istio's networking.istio.io/gatewayPort.
const gatewayPortLabel = "networking.istio.io/gatewayPort"

// Each overlay has two stages, because Flux server-side dry-runs every
// object of a Kustomization before it applies any: Istio's Gateways and
// ServiceEntries cannot sit beside the HelmReleases that install their
// CRDs. install/ holds what must exist first (the namespace, cacerts before
// istiod starts, the install itself); mesh/ holds the Istio objects that
// connect the clusters. The overlay's own kustomization lists both, for
// tools that apply everything at once.

// sink collects files: one cluster's (clusters render in parallel), or the
// mesh-wide ones.
type sink struct{ files []File }

func (k *sink) add(p string, data []byte) { k.files = append(k.files, File{Path: p, Data: data}) }

func (k *sink) addSecret(p string, data []byte) {
	k.files = append(k.files, File{Path: p, Data: data, Secret: true})
}

// stage collects the files of one kustomization.
type stage struct {
	g         *sink
	dir       string
	resources []string
}

func (st *stage) add(name string, data []byte) {
	st.g.add(path.Join(st.dir, name), data)
	st.resources = append(st.resources, name)
}

func (st *stage) addSecret(name string, data []byte) {
	// A secret a preview could not write (Tree.Pending) is still listed.
	if data != nil {
		st.g.addSecret(path.Join(st.dir, name), data)
	}
	st.resources = append(st.resources, name)
}

func (st *stage) close() {
	st.g.add(path.Join(st.dir, "kustomization.yaml"), marshalDocs(&Kustomization{
		TypeMeta:  TypeMeta{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"},
		Resources: st.resources,
	}))
}

// cluster renders one cluster's files. It only reads the shared state
// computed before (service entries and their bytes, PKI, remote secrets),
// so clusters render in parallel.
func (g *gen) cluster(c *inventory.Cluster, r *computed) []File {
	out := &sink{}
	in := g.installOf(c)
	install := &stage{g: out, dir: StageDir(c.Name, installStage), resources: []string{}}
	mesh := &stage{g: out, dir: StageDir(c.Name, meshStage), resources: []string{}}

	install.add("namespace.yaml", g.marshalDocs(g.namespace(c)))
	if g.topo.Cluster(c.Name).NeedsCacerts() {
		install.addSecret(cacertsFile, r.cacerts[c.Name])
	}

	// The IstioOperator files are always written: istioctl users install
	// from them, and reviewers read them. Only where an operator runs are
	// they resources.
	iops := map[string][]byte{"istio-operator.yaml": g.marshalDocs(in.controlPlane())}
	if in.sidecarGateway() {
		iops["eastwest-gateway.yaml"] = g.marshalDocs(in.eastWestGateway())
	}
	for _, name := range sortedKeys(iops) {
		if g.inv.Mesh.Istio.Installer == inventory.InstallerOperator {
			install.add(name, iops[name])
		} else {
			out.add(path.Join(install.dir, name), iops[name])
		}
	}
	var helm helmInstall // the Helm installer's releases, which Argo CD installs as charts
	switch g.inv.Mesh.Istio.Installer {
	case inventory.InstallerHelm:
		helm = g.helmReleases(in)
		install.add(helmReleasesFile, g.marshalDocs(helm.objects()...))
	case inventory.InstallerSail:
		install.add(sailFile, g.marshalDocs(in.sailResources()...))
		if in.sidecarGateway() { // ambient: the istio-east-west Gateway below
			mesh.add(sailGatewayFile, g.marshalDocs(g.sailGatewayRelease(in)...))
		}
	}

	// A remote has no istiod and reads no Istio config: everything below
	// goes to config clusters, which serve their remotes' proxies too.
	if g.topo.NeedsCrossNetworkGateway(c.Name) {
		mesh.add("cross-network-gateway.yaml", g.marshalDocs(g.crossNetworkGateway()))
	}
	if g.topo.NeedsAmbientEastWestGateway(c.Name) {
		mesh.add(ambientEastWestGatewayFile, g.marshalDocs(in.ambientEastWestGateway()))
	}
	if in.external && in.gateway != nil {
		mesh.add("expose-istiod.yaml", g.marshalDocs(g.exposeIstiod()...))
	}
	for _, p := range sortedKeys(r.remote[c.Name]) {
		mesh.addSecret(strings.TrimPrefix(p, mesh.dir+"/"), r.remote[c.Name][p])
	}
	if data, ok := r.seFiles[c.Name]; ok {
		mesh.add(serviceEntriesFile, data)
	}
	if drs := g.destinationRules(c.Name, r.rules); len(drs) > 0 {
		mesh.add(destinationRulesFile, g.marshalDocs(drs...))
	}
	install.close()
	mesh.close()
	out.add(path.Join(OverlayDir(c.Name), "kustomization.yaml"), g.marshalDocs(&Kustomization{
		TypeMeta:  TypeMeta{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"},
		Resources: []string{installStage, meshStage},
	}))
	if g.inv.Mesh.GitOps != nil && g.inv.Mesh.GitOps.Flux != nil {
		out.add(FluxPath(c.Name), g.fluxFile(c))
	}
	out.files = append(out.files, g.argoStageFiles(c, helm, install, mesh)...)
	return out.files
}

func (g *gen) namespace(c *inventory.Cluster) *Namespace {
	ns := &Namespace{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		Metadata: ObjectMeta{Name: IstioNamespace, Labels: map[string]string{NetworkLabel: c.Network}},
	}
	if c.Role == inventory.RoleRemote {
		ns.Metadata.Annotations = map[string]string{ControlPlaneClustersAnno: c.Primary}
	}
	return ns
}

func (g *gen) crossNetworkGateway() *Gateway {
	var gw Gateway
	loadTemplate("cross-network-gateway.yaml", &gw)
	if g.topo.Discovery == topology.ServiceEntries {
		gw.Spec.Servers[0].Hosts = append(gw.Spec.Servers[0].Hosts, "*."+g.topo.Suffix)
	}
	return &gw
}

// istiodService is the istiod Service of the mesh's revision.
func (g *gen) istiodService() string {
	if r := g.inv.Mesh.Istio.Revision; r != "" {
		return "istiod-" + r
	}
	return "istiod"
}

func (g *gen) exposeIstiod() []any {
	var gw Gateway
	var vs VirtualService
	loadTemplate("expose-istiod.yaml", &gw, &vs)
	svc := g.istiodService()
	if r := g.inv.Mesh.Istio.Revision; r != "" {
		vs.Metadata.Name = "istiod-vs-" + r
	}
	host := svc + "." + IstioNamespace + ".svc.cluster.local"
	for i := range vs.Spec.TLS {
		route := &vs.Spec.TLS[i]
		for j := range route.Match {
			route.Match[j].SNIHosts = []string{svc + "." + IstioNamespace + ".svc", host}
		}
		route.Route[0].Destination.Host = host
	}
	return []any{&gw, &vs}
}

package oracle

// Ambient trees: every istiod runs with ambient enabled as its values set
// it, builds pilot's ambient index over its own cluster and every cluster
// its remote secrets name (multi-network ambient), and each calling
// cluster's ztunnel asks it for workload discovery (WDS, the
// istio.workload.Address delta type). A route is what that ztunnel gets
// for the service: the Service with its VIPs, and the workloads behind it,
// each either a pod reached directly over HBONE or a network gateway.

import (
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/manifests"
	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/serviceregistry/ambient"
	"istio.io/istio/pilot/pkg/serviceregistry/util/xdsfake"
	v3 "istio.io/istio/pilot/pkg/xds/v3"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/activenotifier"
	istiocluster "istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/config/schema/gvr"
	kubelib "istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/kclient/clienttest"
	"istio.io/istio/pkg/kube/krt"
	"istio.io/istio/pkg/kube/multicluster"
	"istio.io/istio/pkg/network"
	"istio.io/istio/pkg/test"
	"istio.io/istio/pkg/workloadapi"

	"github.com/meshgen/meshgen/generator/topology"
)

// eastWestClass is the GatewayClass of ambient east-west gateways.
const eastWestClass = "istio-east-west"

// hbonePort is the port ztunnel tunnels to, pods and east-west gateways
// alike (the gateway's HBONE listener).
const hbonePort = 15008

// iopChartProfile returns the chart profile an IstioOperator profile
// selects (its spec.values.profile), as istioctl reads it.
func iopChartProfile(profile string) (string, error) {
	if profile == "" {
		profile = "default"
	}
	data, err := fs.ReadFile(manifests.FS, "profiles/"+profile+".yaml")
	if err != nil {
		return "", fmt.Errorf("IstioOperator profile %q istioctl does not have", profile)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return "", err
	}
	return str(m, "spec", "values", "profile"), nil
}

// iopProfileComponents returns the components an IstioOperator profile
// enables.
func iopProfileComponents(profile string) map[string]any {
	if profile == "" {
		profile = "default"
	}
	data, err := fs.ReadFile(manifests.FS, "profiles/"+profile+".yaml")
	if err != nil {
		return nil
	}
	var m map[string]any
	if yaml.Unmarshal(data, &m) != nil {
		return nil
	}
	c, _ := dig(m, "spec", "components").(map[string]any)
	return c
}

// withChartProfile returns values as a chart renders from them: the
// chart's files/profile-NAME.yaml with the values merged over it (maps
// merged key by key, anything else replaced), as the charts'
// zzz_profile.yaml does.
func withChartProfile(chart, profile string, values map[string]any) (map[string]any, error) {
	if profile == "" {
		return values, nil
	}
	data, err := fs.ReadFile(manifests.FS, "charts/"+chart+"/files/profile-"+profile+".yaml")
	if err != nil {
		return nil, fmt.Errorf("profile %q the %s chart does not have", profile, chart)
	}
	var base map[string]any
	if err := yaml.Unmarshal(data, &base); err != nil {
		return nil, err
	}
	return mergeValues(base, values), nil
}

func mergeValues(dst, src map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if v == nil {
			continue
		}
		dm, dok := out[k].(map[string]any)
		sm, sok := v.(map[string]any)
		if dok && sok {
			out[k] = mergeValues(dm, sm)
			continue
		}
		out[k] = v
	}
	return out
}

// readAmbientReleases reads the cni and ztunnel HelmReleases the overlay
// applies: ztunnel runs, and istio-cni redirects pods to it when its
// values enable ambient.
func (c *cluster) readAmbientReleases() error {
	cni, err := c.helmReleases("cni")
	if err != nil {
		return err
	}
	for _, m := range cni {
		values, _ := dig(m, "spec", "values").(map[string]any)
		if values == nil {
			values = map[string]any{}
		}
		profile := str(values, "profile")
		if profile == "" {
			profile = str(values, "global", "profile")
		}
		values, err := withChartProfile("istio-cni", profile, values)
		if err != nil {
			return fmt.Errorf("overlays/%s: cni values: %v", c.name, err)
		}
		c.cni = isTrue(dig(values, "ambient", "enabled")) || isTrue(dig(values, "cni", "ambient", "enabled"))
	}
	zt, err := c.helmReleases("ztunnel")
	if err != nil {
		return err
	}
	c.ztunnel = len(zt) > 0
	return nil
}

// readSailAmbient reads the Sail operator's IstioCNI and ZTunnel
// resources the overlay applies: Sail installs the istio-cni chart (with
// ambient when its profile or values say so) and the ztunnel chart from them.
func (c *cluster) readSailAmbient() error {
	for _, r := range c.objects {
		if !strings.HasPrefix(r.GetApiVersion(), "sailoperator.io/") {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return err
		}
		switch r.GetKind() {
		case "IstioCNI":
			c.cni = str(m, "spec", "profile") == "ambient" || isTrue(dig(m, "spec", "values", "cni", "ambient", "enabled"))
		case "ZTunnel":
			c.ztunnel = true
		}
	}
	return nil
}

// readIstioOperatorComponents reads whether istioctl installs istio-cni
// (with ambient) and ztunnel from an IstioOperator.
func (c *cluster) readIstioOperatorComponents(m map[string]any) {
	components := iopProfileComponents(str(m, "spec", "profile"))
	if own, ok := dig(m, "spec", "components").(map[string]any); ok {
		components = mergeValues(components, own)
	}
	chartProfile := str(m, "spec", "values", "profile")
	if chartProfile == "" {
		chartProfile, _ = iopChartProfile(str(m, "spec", "profile"))
	}
	ambientCNI := chartProfile == "ambient" || isTrue(dig(m, "spec", "values", "cni", "ambient", "enabled"))
	c.cni = isTrue(dig(components, "cni", "enabled")) && ambientCNI
	c.ztunnel = isTrue(dig(components, "ztunnel", "enabled"))
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

// ambient reports whether the cluster's istiod runs with ambient enabled.
func (c *cluster) ambient() bool {
	return c.hasValues && !c.remote && isTrue(c.env["PILOT_ENABLE_AMBIENT"])
}

// isAmbient reports whether any istiod of the tree runs ambient.
func (w *world) isAmbient() bool {
	for _, name := range w.order {
		if w.clusters[name].ambient() {
			return true
		}
	}
	return false
}

// ambientFeatures are pilot's ambient settings (pilot/pkg/features,
// registered through registerAmbient): the default each takes in an
// istiod started with PILOT_ENABLE_AMBIENT=true. The test process starts
// without it, so each simulated istiod's settings are set from this table
// and its environment. TestAmbientFeaturesCoverPilot holds the table
// against the pinned pilot source.
var ambientFeatures = []struct {
	env         string
	v           *bool
	withAmbient bool
}{
	{"PILOT_ENABLE_AMBIENT_WAYPOINTS", &features.EnableAmbientWaypoints, true},
	{"PILOT_ENABLE_SENDING_HBONE", &features.EnableHBONESend, true},
	{"PILOT_ENABLE_SIDECAR_LISTENING_HBONE", &features.EnableSidecarHBONEListening, true},
	{"AMBIENT_ENABLE_STATUS", &features.EnableAmbientStatus, true},
	{"PILOT_PREFER_SENDING_HBONE", &features.PreferHBONESend, false},
	{"PILOT_AUTO_ALLOW_WAYPOINT_POLICY", &features.DefaultAllowFromWaypoint, false},
	{"ENABLE_INGRESS_WAYPOINT_ROUTING", &features.EnableIngressWaypointRouting, true},
	{"AMBIENT_ENABLE_MULTI_NETWORK", &features.EnableAmbientMultiNetwork, false},
	{"AMBIENT_ENABLE_BAGGAGE", &features.EnableAmbientBaggage, false},
	{"AMBIENT_ENABLE_MULTI_NETWORK_WAYPOINT", &features.EnableAmbientWaypointMultiNetwork, true},
	{"AMBIENT_ENABLE_MULTI_NETWORK_INGRESS", &features.EnableAmbientIngressMultiNetwork, false},
	{"AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY", &features.EnableWdsDryRunAuthzPol, false},
}

// ambientNumericFeatures are registerAmbient settings that are not
// booleans; the simulation runs with their defaults and refuses a tree
// that sets them.
var ambientNumericFeatures = []string{
	"PILOT_HBONE_INITIAL_STREAM_WINDOW_SIZE",
	"PILOT_HBONE_INITIAL_CONNECTION_WINDOW_SIZE",
}

// setAmbientFeatures sets pilot's ambient settings as the tree's istiods'
// environment sets them, for the lifetime of t. Pilot's settings are
// process-wide, so every istiod of the tree must agree on them.
func (w *world) setAmbientFeatures(t test.Failer) error {
	var env map[string]string
	var first string
	for _, name := range w.order {
		c := w.clusters[name]
		if !c.hasValues || c.remote {
			continue
		}
		if env == nil {
			env, first = c.env, name
			continue
		}
		for _, f := range append(ambientFeatureNames(), "PILOT_ENABLE_AMBIENT") {
			if env[f] != c.env[f] {
				return fmt.Errorf("istiod of %s sets %s=%q, istiod of %s %q: the simulation runs one setting per tree", first, f, env[f], name, c.env[f])
			}
		}
	}
	for _, f := range ambientNumericFeatures {
		if v, ok := env[f]; ok {
			return fmt.Errorf("istiod of %s sets %s=%q, which the simulation does not model", first, f, v)
		}
	}
	set := func(p *bool, v bool) {
		old := *p
		*p = v
		t.Cleanup(func() { *p = old })
	}
	set(&features.EnableAmbient, true)
	for _, f := range ambientFeatures {
		v := f.withAmbient
		if s, ok := env[f.env]; ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("istiod of %s: %s=%q is not a boolean", first, f.env, s)
			}
			v = b
		}
		set(f.v, v)
	}
	return nil
}

func ambientFeatureNames() []string {
	var out []string
	for _, f := range ambientFeatures {
		out = append(out, f.env)
	}
	return out
}

// simulateAmbient is Simulate for a tree whose istiods run ambient.
func (w *world) simulateAmbient(t test.Failer, want []topology.Route) (*Result, error) {
	for _, name := range w.order {
		c := w.clusters[name]
		if c.hasValues && !c.remote && !c.ambient() {
			return nil, fmt.Errorf("istiod of %s does not run ambient (PILOT_ENABLE_AMBIENT) while others of the tree do", name)
		}
	}
	if err := w.setAmbientFeatures(t); err != nil {
		return nil, err
	}
	servers := map[string]*xds.FakeDiscoveryServer{}
	// serverOf starts (once) the istiod that serves cluster c.
	serverOf := func(c *cluster) (*xds.FakeDiscoveryServer, string, error) {
		p := w.istiodFor(c)
		if p == nil || c.remote {
			return nil, fmt.Sprintf("no istiod serves %s (ambient has no remote clusters)", c.name), nil
		}
		s, ok := servers[p.name]
		if !ok {
			var err error
			if s, err = w.ambientIstiod(t, p); err != nil {
				return nil, "", err
			}
			servers[p.name] = s
		}
		return s, "", nil
	}
	views := map[string]*ztunnelView{}
	// viewOf is what cluster c's istiod sends a ztunnel of c over WDS.
	viewOf := func(c *cluster) (*ztunnelView, error) {
		if v, ok := views[c.name]; ok {
			return v, nil
		}
		s, problem, err := serverOf(c)
		if err != nil {
			return nil, err
		}
		v := &ztunnelView{problem: problem}
		if s != nil {
			if v, err = w.connectZtunnel(t, s, c); err != nil {
				return nil, err
			}
		}
		views[c.name] = v
		return v, nil
	}
	gatewayViews := map[string]*view{}
	// gatewayOf is what cluster g's istiod sends g's east-west gateway.
	gatewayOf := func(g *cluster) (*view, error) {
		if v, ok := gatewayViews[g.name]; ok {
			return v, nil
		}
		s, problem, err := serverOf(g)
		if err != nil {
			return nil, err
		}
		v := &view{problem: problem}
		if s != nil {
			v = w.ambientGatewayView(s, g)
		}
		gatewayViews[g.name] = v
		return v, nil
	}
	res := &Result{Routes: map[string]*Observed{}}
	for _, r := range want {
		c := w.clusters[r.From]
		if c == nil {
			return nil, fmt.Errorf("route from unknown cluster %s", r.From)
		}
		if !c.ztunnel {
			res.Routes[Key(r)] = &Observed{Denied: true, Problems: []string{"the tree installs no ztunnel in " + c.name}}
			continue
		}
		v, err := viewOf(c)
		if err != nil {
			return nil, err
		}
		o := w.observeAmbient(v, c, r)
		// A network gateway stands for every pod of the service on its
		// network, and Istio picks any one of the network's east-west
		// gateways (istio/istio#56960). Each of them hands the inner HBONE
		// connection to the pods its own istiod knows on its network; every
		// one must know the same serving clusters, which are what the
		// caller reaches.
		var eps []topology.Endpoint
		for _, e := range o.Endpoints {
			if !e.Gateway || w.clusters[e.Cluster] == nil {
				eps = append(eps, e)
				continue
			}
			net := w.clusters[e.Cluster].network
			serving := map[string][]string{} // serving cluster -> gateways that reach it
			var gateways []string
			for _, gn := range w.order {
				g := w.clusters[gn]
				if g.network != net || g.gateway == nil || g.gateway.ambient == nil {
					continue
				}
				gateways = append(gateways, gn)
				gv, err := gatewayOf(g)
				if err != nil {
					return nil, err
				}
				pods, problem := w.ambientGatewayForwards(gv, g, r)
				if problem != "" {
					o.Problems = append(o.Problems, problem)
				}
				for _, s := range pods {
					serving[s] = append(serving[s], gn)
				}
			}
			if len(serving) == 0 {
				o.Problems = append(o.Problems, fmt.Sprintf("no east-west gateway of network %s has a pod of %s behind it", net, r.Host))
				e.Cluster += " (not forwarded)"
				eps = append(eps, e)
				continue
			}
			for s, via := range serving {
				if len(via) != len(gateways) {
					o.Problems = append(o.Problems, fmt.Sprintf("of network %s's east-west gateways (%s), only %s reach %s's pods of %s", net, strings.Join(gateways, ", "), strings.Join(via, ", "), s, r.Host))
				}
				addr := e.Address
				if g := w.clusters[s].gateway; g != nil {
					addr = g.address
				}
				eps = append(eps, topology.Endpoint{Cluster: s, Gateway: true, Address: addr, Port: e.Port, Transport: e.Transport})
			}
		}
		sortEndpoints(eps)
		o.Endpoints = slices.Compact(eps)
		res.Routes[Key(r)] = o
	}
	return res, nil
}

// ambientGatewayView connects g's east-west gateway to istiod s as
// istiod's gateway controller deploys it for the Gateway (template
// waypoint): a waypoint proxy labelled with the east-west controller and
// the Gateway's labels, requesting its own network's view
// (ISTIO_META_REQUESTED_NETWORK_VIEW), and records its clusters and
// endpoints.
func (w *world) ambientGatewayView(s *xds.FakeDiscoveryServer, g *cluster) *view {
	gw := g.gateway
	ns := gw.ambient.GetNamespace()
	if ns == "" {
		ns = "istio-system"
	}
	net := gw.labels["topology.istio.io/network"]
	if net == "" {
		net = g.network
	}
	p := &model.Proxy{
		Type:            model.Waypoint,
		ID:              gw.name + "-0." + ns,
		ConfigNamespace: ns,
		Labels:          gw.labels,
		IPAddresses:     []string{gw.podIP},
		Metadata: &model.NodeMetadata{
			ClusterID:            istiocluster.ID(g.name),
			Network:              network.ID(net),
			Namespace:            ns,
			Labels:               gw.labels,
			RequestedNetworkView: []string{net},
			IstioVersion:         w.inv.Mesh.Istio.Version,
		},
	}
	p = s.SetupProxy(p)
	v := &view{clusters: map[string]*clusterv3.Cluster{}, endpoints: map[string]*endpointv3.ClusterLoadAssignment{}}
	if !p.IsAmbientEastWestGateway() {
		v.problem = "istiod does not take it for an ambient east-west gateway"
		return v
	}
	// The outer tunnel ends at the gateway's HBONE listener: port 15008,
	// Istio mTLS (the workload certificate, client certificates required
	// and validated against the mesh root).
	hbone := false
	for _, l := range s.Listeners(p) {
		if l.GetAddress().GetSocketAddress().GetPortValue() != hbonePort {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			hbone = hbone || istioMTLSDownstream(fc.GetTransportSocket())
		}
	}
	if !hbone {
		v.problem = fmt.Sprintf("no listener on %d terminates HBONE with Istio mTLS", hbonePort)
		return v
	}
	for _, cl := range s.Clusters(p) {
		v.clusters[cl.Name] = cl
	}
	for _, cla := range s.Endpoints(p) {
		v.endpoints[cla.ClusterName] = cla
	}
	return v
}

// istioMTLSDownstream reports whether a listener's transport socket
// terminates Istio mTLS: it presents the workload certificate, requires the
// client's, and validates it with the mesh root.
func istioMTLSDownstream(ts *corev3.TransportSocket) bool {
	if ts == nil {
		return false
	}
	ctx := xdstest.SilentlyUnmarshalAny[tlsv3.DownstreamTlsContext](ts.GetTypedConfig())
	if ctx == nil || !ctx.GetRequireClientCertificate().GetValue() {
		return false
	}
	cert := false
	for _, sc := range ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs() {
		cert = cert || sc.GetName() == "default"
	}
	cv := ctx.GetCommonTlsContext().GetCombinedValidationContext()
	return cert && cv.GetValidationContextSdsSecretConfig().GetName() == "ROOTCA"
}

// ambientGatewayForwards lists the clusters whose pods g's east-west
// gateway sends route r's inner HBONE connections to (its inbound-vip
// clusters for the service's port), or says why it sends them nowhere.
func (w *world) ambientGatewayForwards(v *view, g *cluster, r topology.Route) ([]string, string) {
	if v.problem != "" {
		return nil, g.name + "'s east-west gateway: " + v.problem
	}
	prefix := fmt.Sprintf("inbound-vip|%d|", r.Port)
	suffix := "|" + r.Host
	var names []string
	for name := range v.clusters {
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Sprintf("%s's east-west gateway has no cluster %s*%s", g.name, prefix, suffix)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		_, eps := v.lbEndpoints(name)
		for _, ep := range eps {
			// Each endpoint is the pod's address handed to an internal
			// listener that opens the inner HBONE tunnel to the pod
			// (forward_inner_connect), not a plain socket.
			ia := ep.GetEndpoint().GetAddress().GetEnvoyInternalAddress()
			if ia == nil || ia.GetServerListenerName() != "forward_inner_connect" {
				return nil, fmt.Sprintf("%s's east-west gateway sends %s to %s, not through an inner HBONE tunnel", g.name, name, ep.GetEndpoint().GetAddress())
			}
			host, _, err := net.SplitHostPort(ia.GetEndpointId())
			if err != nil {
				return nil, fmt.Sprintf("%s's east-west gateway: %s: endpoint %q: %v", g.name, name, ia.GetEndpointId(), err)
			}
			o, ok := w.owner[host]
			if !ok || !o.pod {
				return nil, fmt.Sprintf("%s's east-west gateway sends %s to %s, not to pods", g.name, name, host)
			}
			if c := w.clusters[o.cluster]; c.network != g.network {
				return nil, fmt.Sprintf("%s's east-west gateway sends %s to %s's pods on network %s", g.name, name, o.cluster, c.network)
			}
			if !slices.Contains(out, o.cluster) {
				out = append(out, o.cluster)
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Sprintf("%s's east-west gateway has no endpoint in %s", g.name, strings.Join(names, ", "))
	}
	return out, ""
}

// ambientObjects is what cluster c's API server holds for an ambient
// istiod: its Kubernetes objects as for sidecars, with what the ambient
// install and the documented steps add: namespaces of exported services
// labelled istio.io/dataplane-mode=ambient, Services labelled
// istio.io/global=true, pods istio-cni redirected to ztunnel, the
// east-west Gateway with its load balancer address in its status and the
// Service and pod istiod's gateway controller deploys for it, and the
// remote secrets of the overlay.
func (w *world) ambientObjects(c *cluster) ([]runtime.Object, error) {
	objs, err := w.kubeObjects(c)
	if err != nil {
		return nil, err
	}
	for _, r := range c.objects {
		isSecret := r.GetKind() == "Secret" && r.GetLabels()["istio/multiCluster"] == "true"
		isGateway := r.GetKind() == "Gateway" && strings.HasPrefix(r.GetApiVersion(), "gateway.networking.k8s.io/")
		if !isSecret && !isGateway {
			continue
		}
		o, err := decodeResource(c, r)
		if err != nil {
			return nil, err
		}
		if s, ok := o.(*corev1.Secret); ok {
			// The API server stores stringData as data.
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			for k, v := range s.StringData {
				s.Data[k] = []byte(v)
			}
			s.StringData = nil
		}
		if gw, ok := o.(*gatewayv1.Gateway); ok && c.gateway != nil && c.gateway.ambient != nil && gw.Name == c.gateway.name {
			// What istiod's gateway controller reports once the load
			// balancer of the Service it deployed has an address.
			t := gatewayv1.IPAddressType
			if c.gateway.ip != c.gateway.address {
				t = gatewayv1.HostnameAddressType
			}
			gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Type: &t, Value: c.gateway.address}}
		}
		objs = append(objs, o)
	}
	// The GatewayClasses istiod creates when multi-network ambient is on
	// (pilot/pkg/config/kube/gatewaycommon/classinfo.go).
	objs = append(objs, &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: eastWestClass},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: "istio.io/eastwest-controller"},
	})
	return objs, nil
}

func decodeResource(c *cluster, r interface {
	AsYAML() ([]byte, error)
	GetKind() string
	GetName() string
}) (runtime.Object, error) {
	data, err := r.AsYAML()
	if err != nil {
		return nil, err
	}
	json, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	o, _, err := kubelib.IstioCodec.UniversalDeserializer().Decode(json, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("overlays/%s: %s %s: %v", c.name, r.GetKind(), r.GetName(), err)
	}
	return o, nil
}

// ambientGatewayObjects are the Service and pod istiod's gateway
// controller deploys for an ambient east-west Gateway (template waypoint,
// no name suffix, a LoadBalancer Service named after the Gateway).
func ambientGatewayObjects(c *cluster, g *gateway) []runtime.Object {
	ns := g.ambient.GetNamespace()
	if ns == "" {
		ns = "istio-system"
	}
	selector := map[string]string{"gateway.networking.k8s.io/gateway-name": g.name}
	return gatewayDeployment(c, g, ns, selector, []corev1.ServicePort{
		{Name: "status-port", Port: 15021, TargetPort: intstr.FromInt(15021), Protocol: corev1.ProtocolTCP},
		{Name: "mesh", Port: hbonePort, TargetPort: intstr.FromInt(hbonePort), Protocol: corev1.ProtocolTCP},
	})
}

// ambientIstiod starts the simulated ambient istiod of primary p: pilot's
// ambient index over p's cluster and the clusters of p's remote secrets
// (read by pilot's multicluster secret controller from p's API server),
// served by a fake discovery server.
func (w *world) ambientIstiod(t test.Failer, p *cluster) (*xds.FakeDiscoveryServer, error) {
	clients := map[istiocluster.ID]kubelib.Client{}
	byCluster := map[istiocluster.ID][]runtime.Object{}
	for _, name := range append([]string{p.name}, p.watches...) {
		c := w.clusters[name]
		if c == nil {
			// A secret for a cluster no inventory names: its API server
			// does not answer.
			continue
		}
		objs, err := w.ambientObjects(c)
		if err != nil {
			return nil, err
		}
		client := kubelib.NewFakeClient(objs...)
		for _, crd := range []schema.GroupVersionResource{gvr.AuthorizationPolicy, gvr.PeerAuthentication, gvr.KubernetesGateway, gvr.GatewayClass, gvr.WorkloadEntry, gvr.ServiceEntry} {
			clienttest.MakeCRD(t, client, crd)
		}
		clients[istiocluster.ID(name)] = client
		// The same objects for the fake discovery server's own Kubernetes
		// registries, which build the east-west gateway's endpoints. A real
		// istiod's registry takes a pod's network from the istio-system
		// namespace's topology.istio.io/network label; the fake server
		// does not give its registries the system namespace
		// (pilot/test/xds/fake.go), so the pods carry that label here.
		systemNetwork := ""
		for _, o := range objs {
			if n, ok := o.(*corev1.Namespace); ok && n.Name == "istio-system" {
				systemNetwork = n.Labels["topology.istio.io/network"]
			}
		}
		var core []runtime.Object
		for _, o := range objs {
			switch x := o.(type) {
			case *corev1.Pod:
				if systemNetwork != "" {
					x = x.DeepCopy()
					if x.Labels == nil {
						x.Labels = map[string]string{}
					}
					if _, ok := x.Labels["topology.istio.io/network"]; !ok {
						x.Labels["topology.istio.io/network"] = systemNetwork
					}
				}
				core = append(core, x)
			case *corev1.Namespace, *corev1.Service, *corev1.Node, *discoveryv1.EndpointSlice:
				core = append(core, o)
			}
		}
		byCluster[istiocluster.ID(name)] = core
	}
	mc, err := w.meshConfigOf(p)
	if err != nil {
		return nil, err
	}
	stop := test.NewStop(t)
	watcher := meshwatcher.NewTestWatcher(mc)
	local := clients[istiocluster.ID(p.name)]
	mcc := multicluster.NewController(multicluster.ControllerOptions{
		Client:          local,
		ClusterID:       istiocluster.ID(p.name),
		SystemNamespace: "istio-system",
		MeshConfig:      watcher,
		Debugger:        krt.GlobalDebugHandler,
		// A remote secret's kubeconfig reaches that cluster's simulated
		// API server.
		ClientBuilder: func(_ []byte, id istiocluster.ID, _ ...func(*rest.Config)) (kubelib.Client, error) {
			if c, ok := clients[id]; ok && id != istiocluster.ID(p.name) {
				return c, nil
			}
			return nil, fmt.Errorf("no API server for cluster %s", id)
		},
	})
	idx := ambient.New(ambient.Options{
		SystemNamespace:        "istio-system",
		DomainSuffix:           "cluster.local",
		ClusterID:              istiocluster.ID(p.name),
		XDSUpdater:             xdsfake.NewFakeXDS(),
		MeshConfig:             watcher,
		StatusNotifier:         activenotifier.New(false),
		Debugger:               krt.GlobalDebugHandler,
		MultiClusterController: mcc,
		Flags: ambient.FeatureFlags{
			DefaultAllowFromWaypoint:              features.DefaultAllowFromWaypoint,
			EnableK8SServiceSelectWorkloadEntries: features.EnableK8SServiceSelectWorkloadEntries,
		},
	})
	if err := mcc.Run(stop); err != nil {
		return nil, err
	}
	local.RunAndWait(stop)
	go idx.Run(stop)
	if !kubelib.WaitForCacheSync("ambient", stop, idx.HasSynced) {
		return nil, fmt.Errorf("istiod of %s: ambient index did not sync", p.name)
	}
	// Remote clusters join as their secrets are processed and their
	// informers sync; then the index settles.
	remotes := 0
	for _, name := range p.watches {
		if _, ok := clients[istiocluster.ID(name)]; ok && name != p.name {
			remotes++
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, cl := range mcc.Clusters().List() {
			if cl.HasSynced() {
				n++
			}
		}
		if n >= remotes {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("istiod of %s: %d of %d remote clusters synced", p.name, n, remotes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	settle(idx)
	return xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		DefaultClusterName:         istiocluster.ID(p.name),
		KubernetesObjectsByCluster: byCluster,
		KubeClientBuilder:          fakeClient,
		MeshConfig:                 mc,
		NetworksWatcher:            meshwatcher.NewFixedNetworksWatcher(&meshconfig.MeshNetworks{}),
		AmbientIndex:               idx,
	}), nil
}

// settle waits until the ambient index stops changing: remote clusters'
// collections are built and computed asynchronously once they join.
func settle(idx ambient.Index) {
	last, stable := "", 0
	deadline := time.Now().Add(30 * time.Second)
	for stable < 20 && time.Now().Before(deadline) {
		var names []string
		for _, a := range idx.All() {
			names = append(names, a.ResourceName()+"@"+a.Version)
		}
		sort.Strings(names)
		cur := strings.Join(names, ",")
		if cur == last {
			stable++
		} else {
			last, stable = cur, 0
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ztunnelView is what one cluster's ztunnel got over WDS.
type ztunnelView struct {
	problem   string
	services  map[string]*workloadapi.Service // by namespace/hostname
	workloads []*workloadapi.Workload
}

// connectZtunnel connects a ztunnel of cluster c to istiod s and records
// every Address it is sent (a wildcard WDS subscription, as ztunnel makes).
func (w *world) connectZtunnel(t test.Failer, s *xds.FakeDiscoveryServer, c *cluster) (*ztunnelView, error) {
	ads := s.ConnectDeltaADS().
		WithType(v3.AddressType).
		WithID(fmt.Sprintf("%s~%s~ztunnel-0.istio-system~istio-system.svc.cluster.local", model.Ztunnel, c.clientIP)).
		WithMetadata(model.NodeMetadata{
			ClusterID: istiocluster.ID(c.name),
			Network:   network.ID(c.network),
			Namespace: "istio-system",
			NodeName:  "node-0",
		}).
		WithTimeout(10 * time.Second)
	resp := ads.RequestResponseAck(&discovery.DeltaDiscoveryRequest{ResourceNamesSubscribe: []string{"*"}})
	ads.Cleanup()
	v := &ztunnelView{services: map[string]*workloadapi.Service{}}
	for _, r := range resp.GetResources() {
		a := &workloadapi.Address{}
		if err := r.GetResource().UnmarshalTo(a); err != nil {
			return nil, fmt.Errorf("ztunnel of %s: resource %s: %v", c.name, r.GetName(), err)
		}
		if svc := a.GetService(); svc != nil {
			v.services[svc.GetNamespace()+"/"+svc.GetHostname()] = svc
		}
		if wl := a.GetWorkload(); wl != nil {
			v.workloads = append(v.workloads, wl)
		}
	}
	return v, nil
}

// observeAmbient classifies what the ztunnel of caller got for route r.
func (w *world) observeAmbient(v *ztunnelView, caller *cluster, r topology.Route) *Observed {
	o := &Observed{}
	if v.problem != "" {
		o.Denied = true
		o.Problems = append(o.Problems, v.problem)
		return o
	}
	name, ns, _ := strings.Cut(r.Service, ".")
	key := ns + "/" + r.Host
	svc := v.services[key]
	if svc == nil {
		o.Denied = true
		o.Problems = append(o.Problems, "no service "+key)
		return o
	}
	hasPort := false
	for _, p := range svc.GetPorts() {
		if p.GetServicePort() == r.Port {
			hasPort = true
		}
	}
	if !hasPort {
		o.Problems = append(o.Problems, fmt.Sprintf("service %s has no port %d", key, r.Port))
	}
	// The caller's own Service VIP, where the service runs in its cluster,
	// is one of the service's addresses: that is what its pods resolve the
	// host to.
	for _, wl := range caller.workloads {
		if wl.svc.Name != name || wl.svc.Namespace != ns {
			continue
		}
		found := false
		for _, a := range svc.GetAddresses() {
			if ip, ok := netip.AddrFromSlice(a.GetAddress()); ok && ip.String() == wl.clusterIP {
				found = true
			}
		}
		if !found {
			o.Problems = append(o.Problems, fmt.Sprintf("service %s lacks %s's VIP %s", key, caller.name, wl.clusterIP))
		}
	}
	o.MTLS = true
	seen := map[topology.Endpoint]bool{}
	for _, wl := range v.workloads {
		ports, ok := wl.GetServices()[key]
		if !ok {
			continue
		}
		e := w.classifyWorkload(wl)
		if !slices.ContainsFunc(ports.GetPorts(), func(p *workloadapi.Port) bool { return p.GetServicePort() == r.Port }) {
			o.Problems = append(o.Problems, fmt.Sprintf("%s (%s) does not serve port %d", wl.GetName(), describe(e), r.Port))
		}
		if wl.GetTunnelProtocol() != workloadapi.TunnelProtocol_HBONE {
			o.MTLS = false
			o.Problems = append(o.Problems, fmt.Sprintf("%s (%s) is reached without HBONE", wl.GetName(), describe(e)))
		}
		if !seen[e] {
			seen[e] = true
			o.Endpoints = append(o.Endpoints, e)
		}
	}
	if len(o.Endpoints) == 0 {
		o.Denied = true
		o.MTLS = false
		return o
	}
	sortEndpoints(o.Endpoints)
	return o
}

// classifyWorkload tells what a WDS workload stands for: a pod of a
// cluster, or a network gateway (the workload ztunnel tunnels to for every
// pod of the service on that network).
func (w *world) classifyWorkload(wl *workloadapi.Workload) topology.Endpoint {
	if gw := wl.GetNetworkGateway(); gw != nil {
		addr := gw.GetHostname().GetHostname()
		if a := gw.GetAddress(); a != nil {
			if ip, ok := netip.AddrFromSlice(a.GetAddress()); ok {
				addr = ip.String()
			}
		}
		for _, cn := range w.order {
			if g := w.clusters[cn].gateway; g != nil && (g.address == addr || g.ip == addr) {
				return topology.Endpoint{Cluster: cn, Gateway: true, Address: g.address, Port: gw.GetHboneMtlsPort(), Transport: transport(wl)}
			}
		}
		return topology.Endpoint{Cluster: "unknown network gateway " + addr, Gateway: true, Address: addr, Port: gw.GetHboneMtlsPort(), Transport: transport(wl)}
	}
	for _, a := range wl.GetAddresses() {
		ip, ok := netip.AddrFromSlice(a)
		if !ok {
			continue
		}
		if o, ok := w.owner[ip.String()]; ok && o.pod {
			return topology.Endpoint{Cluster: o.cluster, Transport: transport(wl)}
		}
		return topology.Endpoint{Cluster: "unknown address " + ip.String()}
	}
	return topology.Endpoint{Cluster: "workload without address " + wl.GetUid()}
}

// transport is how ztunnel carries a call to a workload: HBONE, or ""
// (plaintext, or a sidecar's Istio mTLS, neither of which ambient routes
// promise).
func transport(wl *workloadapi.Workload) string {
	if wl.GetTunnelProtocol() == workloadapi.TunnelProtocol_HBONE {
		return topology.HBONE
	}
	return ""
}

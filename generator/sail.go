package generator

import (
	"slices"
	"strings"
)

// The Sail operator installer (mesh.istio.installer sail): each cluster's
// install model as sailoperator.io/v1 resources, which the Sail operator
// turns into the same Helm charts the helm installer releases, with the
// same values. docs/install-sail.md describes the mapping; in short:
//
//   - one Istio resource per control plane revision, named by the revision
//     ("default" for the unnamed revision of the single-revision form),
//     updateStrategy InPlace. Sail names the IstioRevision after an InPlace
//     Istio and sets values.revision to that name ("" for default), so
//     istiod, its Service and the istio.io/rev label are exactly the helm
//     installer's (istiod-<rev>, or istiod);
//   - one IstioRevisionTag per revision tag, targeting the Istio of the
//     revision the tag names; Sail's "default" tag also installs the base
//     chart's config validation, as the helm installer's defaultRevision.
//
// RevisionBased is not used: Sail would name each revision
// <istio>-v1-28-2 and delete it once unused, so the tree would no longer
// say which control planes run nor which revision the east-west gateway
// and namespaces name.

const (
	sailAPIVersion = "sailoperator.io/v1"
	sailFile       = "istio-sail.yaml"
	// sailGatewayFile is the mesh stage's east-west gateway release.
	sailGatewayFile = "eastwest-gateway-helmrelease.yaml"
	// sailDefaultName is the Istio resource of the unnamed revision: Sail
	// installs the revision named default with values.revision ""
	// (ApplyOverrides), and the base chart beside it.
	sailDefaultName = "default"
	// sailInPlace is Sail's update strategy that upgrades a revision where
	// it runs when spec.version changes, as helm upgrade does.
	sailInPlace = "InPlace"
)

// sailVersion is an Istio release as the Sail CRDs' spec.version enum
// spells it: v1.28.2.
func sailVersion(v string) string { return "v" + v }

// sailIstioName is the Istio resource of a revision.
func sailIstioName(rev string) string {
	if rev == "" {
		return sailDefaultName
	}
	return rev
}

// sailValues are an Istio resource's spec.values: the istiod chart values
// of the install model without what Sail sets itself (revision, from the
// resource's name; revisionTags, from IstioRevisionTags) or takes from the
// spec (profile).
type sailValues struct {
	MeshConfig *MeshConfig `json:"meshConfig,omitempty"`
	*Values    `json:",inline"`
}

// sailResources are the cluster's Sail resources: an Istio per revision,
// then an IstioRevisionTag per tag, in file order.
func (in install) sailResources() []any {
	cv := in.istiodChartValues()
	var out []any
	var tags []*SailResource
	for _, r := range in.revisions {
		out = append(out, sailResource("Istio", sailIstioName(r.Name), SailSpec{
			Version:        sailVersion(r.Version),
			Namespace:      IstioNamespace,
			Profile:        cv.Profile,
			UpdateStrategy: &SailUpdateStrategy{Type: sailInPlace},
			Values:         sailValues{MeshConfig: cv.MeshConfig, Values: cv.Values},
		}))
		for _, t := range r.Tags {
			tags = append(tags, sailResource("IstioRevisionTag", t, SailSpec{
				TargetRef: &SailTargetRef{Kind: "Istio", Name: sailIstioName(r.Name)},
			}))
		}
	}
	slices.SortFunc(tags, func(a, b *SailResource) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	for _, t := range tags {
		out = append(out, t)
	}
	if in.ambient {
		out = append(out, in.sailAmbientResources()...)
	}
	return out
}

// sailAmbientResources are the ambient data plane's node components as
// Sail installs them (its multicluster guide's ambient section): an
// IstioCNI of the ambient profile (the cni chart, cniValues) and a ZTunnel
// (the ztunnel chart, ztunnelValues) that targets the Istio resource of the
// running revision, from which Sail copies global, meshConfig and
// revision. Both run in istio-system, as the helm installer's releases do,
// so istiod's CA trusts ztunnel's service account there without
// trustedZtunnelNamespace. The cni chart's revision value only labels its
// objects, and IstioCNI has no field for it.
func (in install) sailAmbientResources() []any {
	cni := in.cniValues()
	zt := in.ztunnelValues()
	return []any{
		sailResource("IstioCNI", sailDefaultName, SailSpec{
			Version:   sailVersion(in.version),
			Namespace: IstioNamespace,
			Profile:   cni.Profile,
		}),
		sailResource("ZTunnel", sailDefaultName, SailSpec{
			Version:   sailVersion(in.version),
			Namespace: IstioNamespace,
			TargetRef: &SailTargetRef{Kind: "Istio", Name: sailIstioName(in.revision)},
			Values:    sailZTunnelValues{ZTunnel: sailZTunnelChart{MultiCluster: zt.MultiCluster, Network: zt.Network}},
		}),
	}
}

// sailZTunnelValues are a ZTunnel resource's spec.values: the ztunnel
// chart's values under "ztunnel". The revision comes from the target.
type sailZTunnelValues struct {
	ZTunnel sailZTunnelChart `json:"ztunnel"`
}

type sailZTunnelChart struct {
	MultiCluster *MultiCluster `json:"multiCluster"`
	Network      string        `json:"network"`
}

// sailResource is one Sail resource. Every kind takes the Helm values of
// the chart it installs from the install model, as the Istio resource takes
// istiodChartValues: IstioCNI (cni chart) and ZTunnel (ztunnel chart) are
// sailResource("IstioCNI", "default", SailSpec{Version, Namespace, Values})
// of the install model's values for those charts.
func sailResource(kind, name string, spec SailSpec) *SailResource {
	return &SailResource{
		TypeMeta: TypeMeta{APIVersion: sailAPIVersion, Kind: kind},
		Metadata: ObjectMeta{Name: name},
		Spec:     spec,
	}
}

// sailGatewayRelease is the east-west gateway under installer sail: the
// gateway chart's HelmRelease (and its HelmRepository) of the helm
// installer, as Sail's multicluster guide installs the same gateway from
// gen-eastwest-gateway.sh. Its values.revision names the revision whose
// Istio resource the default tag (or the single revision) is, which Sail
// names exactly so. It lives in the mesh stage: Flux's install stage waits
// for the Istio resources to be Ready (istiod running, its injector
// serving), and only then may the gateway pods, whose image the injector
// fills in, be created.
func (g *gen) sailGatewayRelease(in install) []any {
	h := g.helmReleases(in)
	for _, hr := range h.releases {
		if hr.Spec.Chart.Spec.Chart == "gateway" {
			gw := *hr
			gw.Spec.DependsOn = nil
			return []any{h.repo, &gw}
		}
	}
	return nil
}

// sailHealthChecks tell the install stage's Flux Kustomization when an
// Istio resource is ready. Flux's default (kstatus) takes a custom
// resource without a Ready condition for current: right after the apply,
// before the Sail operator first writes its status, the stage would be
// ready and the mesh stage (the east-west gateway) would start before
// istiod runs. The expression holds it back until Sail has seen the
// resource's generation and reports Ready, which its active IstioRevision
// reaches once istiod's Deployment is available. An expression over a
// status that does not exist yet does not evaluate, which Flux counts as
// not yet current. IstioRevisionTags need none: their readiness is their
// Istio's.
func sailHealthChecks(ambient bool) []FluxHealthCheckExpr {
	kinds := []string{"Istio"}
	if ambient {
		// IstioCNI and ZTunnel report Ready once their DaemonSet is.
		kinds = append(kinds, "IstioCNI", "ZTunnel")
	}
	var out []FluxHealthCheckExpr
	for _, k := range kinds {
		out = append(out, FluxHealthCheckExpr{APIVersion: sailAPIVersion, Kind: k, Current: sailReady})
	}
	return out
}

// sailReady is the readiness every Sail resource reports.
const sailReady = "status.observedGeneration == metadata.generation && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"

package generator

// istiodChartValues are the values of Istio's istiod chart: the install
// model's Helm values plus what the IstioOperator keeps beside them.
type istiodChartValues struct {
	Profile  string `json:"profile,omitempty"`
	Revision string `json:"revision,omitempty"`
	// RevisionTags are the revision tags pointing at this revision.
	RevisionTags []string    `json:"revisionTags,omitempty"`
	MeshConfig   *MeshConfig `json:"meshConfig,omitempty"`
	*Values      `json:",inline"`
}

// baseChartValues are the values of Istio's base chart.
type baseChartValues struct {
	Profile         string `json:"profile,omitempty"`
	DefaultRevision string `json:"defaultRevision,omitempty"`
}

// gatewayChartValues are the values of Istio's gateway chart, as Istio's
// multicluster guides install the east-west gateway (--set
// name=istio-eastwestgateway --set networkGateway=NET). From those the chart
// writes every label Istio needs: app and istio (istio: eastwestgateway, the
// name without "istio-") and, for networkGateway, topology.istio.io/network
// on the Service and the pods. Setting any of them again under labels makes
// the chart write the key twice, which Flux's post-renderer and kustomize
// reject.
type gatewayChartValues struct {
	Name           string `json:"name"`
	Revision       string `json:"revision,omitempty"`
	NetworkGateway string `json:"networkGateway"`
	// Labels are further labels: only the gateway port label, on a port
	// other than 15443 (which the chart does not write).
	Labels map[string]string `json:"labels,omitempty"`
	// NetworkGatewayPorts overrides the chart's Service ports; Helm merges
	// it into the chart's defaults, so only a changed port is given.
	NetworkGatewayPorts map[string]gatewayChartPort `json:"networkGatewayPorts,omitempty"`
}

// gatewayChartPort is one port of the gateway chart's networkGatewayPorts.
type gatewayChartPort struct {
	Port int `json:"port"`
}

// helmInstall is the Helm installer's Flux objects for one cluster: the
// chart repository and the releases in install order (base, istiod, and
// the east-west gateway where there is one).
type helmInstall struct {
	repo     *HelmRepository
	releases []*HelmRelease
}

// objects are the install's objects in file order.
func (h helmInstall) objects() []any {
	objs := []any{h.repo}
	for _, r := range h.releases {
		objs = append(objs, r)
	}
	return objs
}

// istiodChartValues are the install model's istiod chart values, before
// the revision and its tags: what every installer hands the istiod chart
// (the HelmReleases, the Argo CD helmCharts, Sail's Istio resources).
func (in install) istiodChartValues() istiodChartValues {
	return istiodChartValues{
		Profile:    in.profile(),
		MeshConfig: in.meshConfig(),
		Values:     in.values(),
	}
}

func (g *gen) helmReleases(in install) helmInstall {
	var repo HelmRepository
	var base, istiod, gateway HelmRelease
	loadTemplate("helmreleases.yaml", &repo, &base, &istiod, &gateway)
	interval := "10m"
	if f := g.inv.Mesh.GitOps; f != nil && f.Flux != nil {
		interval = fluxDuration(f.Flux.Interval.Duration)
	}
	repo.Spec.Interval = interval
	profile := in.profile()
	// The default revision validates Istio config (the base chart's
	// istiod-default-validator) and runs the gateway. Istio's ambient Helm
	// guide installs the base chart without the ambient profile.
	baseProfile := profile
	if in.ambient {
		baseProfile = ""
	}
	bv := baseChartValues{Profile: baseProfile, DefaultRevision: in.revision}
	base.Spec.Values = bv
	base.Spec.Chart.Spec.Version = newestVersion(in.revisions)
	istiods := istiodReleases(istiod, in.istiodChartValues(), in.revisions)
	gateway.Spec.Values = gatewayChartValues{
		Name:           EastWestGatewayName,
		Revision:       in.revision,
		NetworkGateway: in.network,
	}
	gateway.Spec.Chart.Spec.Version = in.version
	gateway.Spec.DependsOn = []Dependency{{Name: in.release}}
	if l, v := in.gatewayPortLabel(); l != "" {
		gv := gateway.Spec.Values.(gatewayChartValues)
		gv.Labels = map[string]string{l: v}
		gv.NetworkGatewayPorts = map[string]gatewayChartPort{"tls": {Port: in.gateway.Port}}
		gateway.Spec.Values = gv
	}
	releases := append([]*HelmRelease{&base}, istiods...)
	if in.ambient {
		// The ambient east-west gateway is a Gateway API Gateway that
		// istiod deploys (mesh stage), not a gateway chart release.
		releases = append(releases, in.ambientReleases()...)
	}
	if in.sidecarGateway() {
		releases = append(releases, &gateway)
	}
	for _, hr := range releases {
		hr.Spec.Interval = interval
		withRemediation(hr)
	}
	if bv == (baseChartValues{}) {
		base.Spec.Values = nil
	}
	return helmInstall{repo: &repo, releases: releases}
}

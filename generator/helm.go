package generator

// istiodChartValues are the values of Istio's istiod chart: the install
// model's Helm values plus what the IstioOperator keeps beside them.
type istiodChartValues struct {
	Profile    string      `json:"profile,omitempty"`
	Revision   string      `json:"revision,omitempty"`
	MeshConfig *MeshConfig `json:"meshConfig,omitempty"`
	*Values    `json:",inline"`
}

// baseChartValues are the values of Istio's base chart.
type baseChartValues struct {
	Profile         string `json:"profile,omitempty"`
	DefaultRevision string `json:"defaultRevision,omitempty"`
}

// gatewayChartValues are the values of Istio's gateway chart.
type gatewayChartValues struct {
	Name           string            `json:"name"`
	Revision       string            `json:"revision,omitempty"`
	NetworkGateway string            `json:"networkGateway"`
	Labels         map[string]string `json:"labels"`
	// NetworkGatewayPorts overrides the chart's Service ports; Helm merges
	// it into the chart's defaults, so only a changed port is given.
	NetworkGatewayPorts map[string]gatewayChartPort `json:"networkGatewayPorts,omitempty"`
}

// gatewayChartPort is one port of the gateway chart's networkGatewayPorts.
type gatewayChartPort struct {
	Port int `json:"port"`
}

func (g *gen) helmReleases(in install) []any {
	var repo HelmRepository
	var base, istiod, gateway HelmRelease
	loadTemplate("helmreleases.yaml", &repo, &base, &istiod, &gateway)
	interval := "10m"
	if f := g.inv.Mesh.GitOps; f != nil && f.Flux != nil {
		interval = fluxDuration(f.Flux.Interval.Duration)
	}
	repo.Spec.Interval = interval
	profile := ""
	if in.remote {
		profile = "remote"
	}
	bv := baseChartValues{Profile: profile, DefaultRevision: in.revision}
	base.Spec.Values = bv
	istiod.Spec.Values = istiodChartValues{
		Profile:    profile,
		Revision:   in.revision,
		MeshConfig: in.meshConfig(),
		Values:     in.values(),
	}
	gateway.Spec.Values = gatewayChartValues{
		Name:           EastWestGatewayName,
		Revision:       in.revision,
		NetworkGateway: in.network,
		Labels: map[string]string{
			"istio":      "eastwestgateway",
			"app":        EastWestGatewayName,
			NetworkLabel: in.network,
		},
	}
	if l, v := in.gatewayPortLabel(); l != "" {
		gv := gateway.Spec.Values.(gatewayChartValues)
		gv.Labels[l] = v
		gv.NetworkGatewayPorts = map[string]gatewayChartPort{"tls": {Port: in.gatewayPort}}
		gateway.Spec.Values = gv
	}
	objs := []any{&repo, &base, &istiod}
	if in.eastWest {
		objs = append(objs, &gateway)
	}
	for _, o := range objs[1:] {
		hr := o.(*HelmRelease)
		hr.Spec.Interval = interval
		hr.Spec.Chart.Spec.Version = in.version
	}
	if bv == (baseChartValues{}) {
		base.Spec.Values = nil
	}
	return objs
}

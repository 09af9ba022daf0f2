package generator

import "sort"

// destinationRulesFile is the per-config-cluster file of DestinationRules.
const destinationRulesFile = "destination-rules.yaml"

// destinationRules returns the DestinationRules config cluster istiod
// holds: one per exported host that a cluster it serves runs or may call,
// with ISTIO_MUTUAL, so that every hop to an exported service is Istio mTLS
// whatever the endpoints' labels or auto-mTLS infer (DESIGN §2.4). They sit
// in istio-system, Istio's root namespace, and so apply to every namespace;
// a DestinationRule an application team writes in its own namespace takes
// precedence (docs/services.md).
func (g *gen) destinationRules(istiod string) []any {
	c := g.topo.Cluster(istiod)
	if c == nil || !c.RunsIstiod() {
		return nil
	}
	var out []any
	for _, s := range g.topo.Services() {
		if !g.topo.NeedsDestinationRule(s, istiod) {
			continue
		}
		dr := &DestinationRule{
			TypeMeta: TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
			Metadata: ObjectMeta{Name: s.Host, Namespace: IstioNamespace},
			Spec: DestinationRuleSpec{
				Host:          s.Host,
				TrafficPolicy: TrafficPolicy{TLS: ClientTLSSettings{Mode: "ISTIO_MUTUAL"}},
			},
		}
		applyPolicy(&dr.Spec.TrafficPolicy, g.inv.PolicyOf(s.Service), anyLocality(g.inv, s.Clusters))
		out = append(out, dr)
	}
	sortByName(out)
	return out
}

func sortByName(objs []any) {
	name := func(i int) string { return objs[i].(*DestinationRule).Metadata.Name }
	sort.Slice(objs, func(i, j int) bool { return name(i) < name(j) })
}

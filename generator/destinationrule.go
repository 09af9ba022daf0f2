package generator

import (
	"sort"

	"github.com/meshgen/meshgen/generator/topology"
)

// destinationRulesFile is the per-config-cluster file of DestinationRules.
const destinationRulesFile = "destination-rules.yaml"

// hostRule is an exported service and its DestinationRule, which is the
// same in every config cluster that holds it.
type hostRule struct {
	s  *topology.Service
	dr *DestinationRule
}

// hostRules builds the DestinationRule of every exported service once per
// run, sorted by host: one per exported host, with ISTIO_MUTUAL, so that
// every hop to an exported service is Istio mTLS whatever the endpoints'
// labels or auto-mTLS infer (DESIGN §2.4). They sit in istio-system,
// Istio's root namespace, and so apply to every namespace; a
// DestinationRule an application team writes in its own namespace takes
// precedence (docs/services.md).
func (g *gen) hostRules() []hostRule {
	out := make([]hostRule, 0, len(g.topo.Services()))
	for _, s := range g.topo.Services() {
		dr := &DestinationRule{
			TypeMeta: TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
			Metadata: ObjectMeta{Name: s.Host, Namespace: IstioNamespace},
			Spec: DestinationRuleSpec{
				Host:          s.Host,
				TrafficPolicy: TrafficPolicy{TLS: ClientTLSSettings{Mode: "ISTIO_MUTUAL"}},
			},
		}
		applyPolicy(&dr.Spec.TrafficPolicy, g.inv.PolicyOf(s.Service), anyLocality(g.inv, s.Clusters))
		out = append(out, hostRule{s: s, dr: dr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].s.Host < out[j].s.Host })
	return out
}

// destinationRules returns, sorted by host, the DestinationRules config
// cluster istiod holds: those of the exported hosts that a cluster it
// serves runs or may call.
func (g *gen) destinationRules(istiod string, rules []hostRule) []any {
	c := g.topo.Cluster(istiod)
	if c == nil || !c.RunsIstiod() {
		return nil
	}
	var out []any
	for _, h := range rules {
		if g.topo.NeedsDestinationRule(h.s, istiod) {
			out = append(out, h.dr)
		}
	}
	return out
}

package oracle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/generator/topology"
)

// Mismatch is a route where what meshgen promises and what Istio computed
// differ.
type Mismatch struct {
	Key     string // service:port from cluster
	Message string // both sides, in words
}

// Compare holds every route of want against what Istio computed.
func Compare(want []topology.Route, got *Result) []Mismatch {
	var out []Mismatch
	for _, r := range want {
		o := got.Routes[Key(r)]
		if o == nil {
			out = append(out, Mismatch{Key: Key(r), Message: "not simulated"})
			continue
		}
		if holds(r, o) {
			continue
		}
		msg := fmt.Sprintf("%s (host %s): meshgen says %s; Istio computed %s", Key(r), r.Host, describeRoute(r.Denied, r.MTLS, r.Endpoints), describeRoute(o.Denied, o.MTLS, o.Endpoints))
		if len(o.Problems) > 0 {
			msg += " (" + strings.Join(dedupe(o.Problems), "; ") + ")"
		}
		out = append(out, Mismatch{Key: Key(r), Message: msg})
	}
	return out
}

func holds(r topology.Route, o *Observed) bool {
	if r.Denied || o.Denied {
		return r.Denied == o.Denied
	}
	want := slices.Clone(r.Endpoints)
	sortEndpoints(want)
	return r.MTLS == o.MTLS && len(o.Problems) == 0 && slices.Equal(want, o.Endpoints)
}

func describeRoute(denied, mtls bool, eps []topology.Endpoint) string {
	if denied {
		return "no endpoint"
	}
	var parts []string
	for _, e := range eps {
		parts = append(parts, describe(e))
	}
	s := strings.Join(parts, ", ")
	if mtls {
		return s + " with mTLS"
	}
	return s + " without mTLS"
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

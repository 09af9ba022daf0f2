package oracle

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// localityValue is the value Istio gives an endpoint (or a caller) for one
// failoverPriority label: the locality and topology labels it adds to
// every endpoint's labels. ok is false for a label the simulation does not
// model.
func localityValue(c *inventory.Cluster, label string) (string, bool) {
	loc := inventory.Locality{}
	if c.Locality != nil {
		loc = *c.Locality
	}
	switch label {
	case "topology.istio.io/network":
		return c.Network, true
	case "topology.istio.io/cluster":
		return c.Name, true
	case "topology.kubernetes.io/region":
		return loc.Region, true
	case "topology.kubernetes.io/zone":
		return loc.Zone, true
	}
	return "", false
}

// expectedRanks is the order in which a caller in cluster from should use
// the clusters serving a route, by the inventory's traffic policy: lower
// first, equal together. ok is false where the policy gives no order to
// check (a caller without a locality, a label the simulation lacks).
func expectedRanks(inv *inventory.Inventory, from string, serving []string, pol inventory.Policy) (map[string]int, bool) {
	caller := inv.Cluster(from)
	ranks := map[string]int{}
	if pol.Failover != inventory.FailoverLocality || pol.Outlier == nil {
		// No locality load balancing: one priority for all.
		for _, s := range serving {
			ranks[s] = 0
		}
		return ranks, true
	}
	if caller.Locality == nil {
		return nil, false
	}
	for _, s := range serving {
		e := inv.Cluster(s)
		if len(pol.FailoverPriority) > 0 {
			matched := 0
			for _, l := range pol.FailoverPriority {
				a, ok1 := localityValue(caller, l)
				b, ok2 := localityValue(e, l)
				if !ok1 || !ok2 {
					return nil, false
				}
				if a != b {
					break
				}
				matched++
			}
			ranks[s] = len(pol.FailoverPriority) - matched
			continue
		}
		switch {
		case e.Locality == nil || e.Locality.Region != caller.Locality.Region:
			ranks[s] = 2
		case e.Locality.Zone != caller.Locality.Zone:
			ranks[s] = 1
		default:
			ranks[s] = 0
		}
	}
	return ranks, true
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// priorityErrors holds the priorities Istio's EDS gave each caller in res
// against each exported service's traffic policy: with locality failover
// a caller uses the clusters of its own zone first, then of its region, and
// other regions only after those are ejected (failoverPriority: the
// clusters matching it on more leading labels first); with failover none,
// every endpoint at one priority. It returns what does not hold, how many
// routes it checked, and how many of those have more than one priority.
func priorityErrors(inv *inventory.Inventory, want []topology.Route, res *Result) (errs []string, checked, ordered int) {
	services := map[string]*inventory.Service{}
	for i := range inv.Services {
		s := &inv.Services[i]
		services[s.Name+"."+s.Namespace] = s
	}
	for _, r := range want {
		o := res.Routes[Key(r)]
		if r.Denied || o == nil || o.Denied || !o.MTLS {
			continue
		}
		var serving []string
		for c := range o.Priorities {
			if !strings.Contains(c, " ") { // classified as a cluster
				serving = append(serving, c)
			}
		}
		sort.Strings(serving)
		ranks, ok := expectedRanks(inv, r.From, serving, inv.PolicyOf(services[r.Service]))
		if !ok {
			continue
		}
		checked++
		prio := map[string]int{}
		for _, c := range serving {
			ps := o.Priorities[c]
			for _, p := range ps[1:] {
				if p != ps[0] {
					errs = append(errs, fmt.Sprintf("%s: endpoints of %s at different priorities %v", Key(r), c, ps))
				}
			}
			prio[c] = int(ps[0])
		}
		distinct := map[int]bool{}
		for _, a := range serving {
			distinct[prio[a]] = true
			for _, b := range serving {
				if a < b && sign(ranks[a]-ranks[b]) != sign(prio[a]-prio[b]) {
					errs = append(errs, fmt.Sprintf("%s: Istio gives %s priority %d and %s priority %d; the traffic policy wants %s %s",
						Key(r), a, prio[a], b, prio[b], a, order(ranks[a]-ranks[b], b)))
				}
			}
		}
		if len(distinct) > 1 {
			ordered++
		}
	}
	return errs, checked, ordered
}

// TestLocalityPriorities runs priorityErrors on every scenario with
// localities. Every route it checks is also held to mTLS by TestRoutes.
func TestLocalityPriorities(t *testing.T) {
	checked, ordered := 0, 0
	for _, sc := range scenarios(t) {
		localities := false
		for _, c := range sc.inv.Clusters {
			localities = localities || c.Locality != nil
		}
		// Ambient meshes have no traffic policy (meshgen refuses it: a
		// DestinationRule, which ztunnel does not apply) and no EDS.
		if !localities || sc.inv.Mesh.Ambient() {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			want := topology.Routes(sc.inv)
			res, err := Simulate(t, sc.inv, sc.tree, want)
			if err != nil {
				t.Fatal(err)
			}
			errs, c, o := priorityErrors(sc.inv, want, res)
			for _, e := range errs {
				t.Error(e)
			}
			checked += c
			ordered += o
		})
	}
	t.Logf("%d routes checked, %d with more than one priority", checked, ordered)
	if ordered < 10 {
		t.Errorf("only %d routes with locality priorities: the scenarios no longer exercise failover", ordered)
	}
}

// TestLocalityPrioritiesCatchBrokenTrees: trees broken the way a traffic
// policy can break fail the priority check.
func TestLocalityPrioritiesCatchBrokenTrees(t *testing.T) {
	cases := []struct {
		name, scenario string
		mutate         func(tree Tree)
		want           string
	}{{
		name:     "no outlier detection: Istio assigns no priorities",
		scenario: "traffic-policy",
		mutate: func(tree Tree) {
			od := regexp.MustCompile(`(?m)^    outlierDetection:\n(      .*\n)+`)
			for p, data := range tree {
				if strings.HasSuffix(p, "/destination-rules.yaml") {
					tree[p] = od.ReplaceAll(data, nil)
				}
			}
		},
		want: "checkout.shop:8080 from eu-1: Istio gives eu-1 priority 0 and us-1 priority 0; the traffic policy wants eu-1 before us-1",
	}, {
		name:     "a ServiceEntry's local endpoint without locality",
		scenario: "se-mp-two-networks",
		mutate: func(tree Tree) {
			for p, data := range tree {
				if strings.HasSuffix(p, "/service-entries.yaml") {
					tree[p] = []byte(strings.ReplaceAll(string(data), "    locality: eu-west-1/eu-west-1a\n", ""))
				}
			}
		},
		want: "Istio gives a priority 0 and b priority 0; the traffic policy wants a before b",
	}}
	all := scenarios(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, tree := scenarioCopy(t, all, tc.scenario)
			tc.mutate(tree)
			want := topology.Routes(sc.inv)
			res, err := Simulate(t, sc.inv, tree, want)
			if err != nil {
				t.Fatal(err)
			}
			errs, _, _ := priorityErrors(sc.inv, want, res)
			for _, e := range errs {
				if strings.Contains(e, tc.want) {
					t.Logf("caught: %s", e)
					return
				}
			}
			t.Errorf("the broken tree was not caught (want %q); got %q", tc.want, errs)
		})
	}
}

func order(d int, other string) string {
	switch sign(d) {
	case -1:
		return "before " + other
	case 1:
		return "after " + other
	}
	return fmt.Sprintf("with %s", other)
}

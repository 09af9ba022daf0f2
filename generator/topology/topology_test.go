package topology

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshgen/meshgen/generator/inventory"
)

const (
	operator = "age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf"
	member   = "age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq"
)

// mixed is two primaries on two networks, each with a remote: p1 (net1)
// serves r1 (net1), p2 (net2) serves r2 (net2).
func mixed(t *testing.T, discovery, services string) *inventory.Inventory {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: meshgen/v1alpha1\nkind: Inventory\nmesh:\n  id: m\n  istio: {version: 1.28.2}\n  discovery: %s\n  recipients: [%s]\n", discovery, operator)
	b.WriteString("networks: [{name: net1}, {name: net2}]\nclusters:\n")
	for i, c := range []string{"p1 net1 primary -", "r1 net1 remote p1", "p2 net2 primary -", "r2 net2 remote p2"} {
		f := strings.Fields(c)
		fmt.Fprintf(&b, "  - {name: %s, network: %s, role: %s, apiServer: \"https://192.0.2.%d:6443\", eastWestGateway: {address: 203.0.113.%d}, recipients: [%s]", f[0], f[1], f[2], i+1, i+1, member)
		if f[3] != "-" {
			fmt.Fprintf(&b, ", primary: %s", f[3])
		}
		b.WriteString("}\n")
	}
	b.WriteString("services:\n" + services)
	inv, err := inventory.Load("inventory.yaml", []byte(b.String()))
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return inv
}

func hops(hs []Hop) string {
	var out []string
	for _, h := range hs {
		if h.Gateway {
			out = append(out, h.Cluster+"@gw")
		} else {
			out = append(out, h.Cluster)
		}
	}
	return strings.Join(out, " ")
}

func TestClustersAndWatches(t *testing.T) {
	for _, tc := range []struct {
		discovery string
		watches   map[string][]string
	}{
		{RemoteSecrets, map[string][]string{"p1": {"p2", "r1", "r2"}, "p2": {"p1", "r1", "r2"}}},
		{ServiceEntries, map[string][]string{"p1": {"r1"}, "p2": {"r2"}}},
	} {
		m := New(mixed(t, tc.discovery, ""))
		for _, c := range m.Clusters() {
			want := c.Name
			if c.Role == inventory.RoleRemote {
				want = c.Primary
			}
			if c.Istiod != want || c.RunsIstiod() != (c.Role == inventory.RolePrimary) || c.NeedsCacerts() != c.RunsIstiod() {
				t.Errorf("%s: %s: istiod %s (runs: %v, cacerts: %v)", tc.discovery, c.Name, c.Istiod, c.RunsIstiod(), c.NeedsCacerts())
			}
			if !slices.Equal(c.Watches, tc.watches[c.Name]) {
				t.Errorf("%s: %s watches %v, want %v", tc.discovery, c.Name, c.Watches, tc.watches[c.Name])
			}
		}
		if got := m.Cluster("p1").Served; !slices.Equal(got, []string{"p1", "r1"}) {
			t.Errorf("p1 serves %v", got)
		}
	}
}

// TestServing holds the model to the routes meshgen promises: own pods
// directly, other exporters directly on the same network with
// remote-secrets, through their gateway otherwise; nothing outside exportTo.
func TestServing(t *testing.T) {
	svc := "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [r1, p2], exportTo: [p1, r1, r2]}\n"
	for _, tc := range []struct {
		discovery string
		want      map[string]string
		host      string
	}{
		{RemoteSecrets, map[string]string{"p1": "p2@gw r1", "r1": "p2@gw r1", "p2": "p2 r1@gw", "r2": "p2 r1@gw"}, "s.ns.svc.cluster.local"},
		{ServiceEntries, map[string]string{"p1": "p2@gw r1@gw", "r1": "p2@gw r1", "p2": "p2 r1@gw", "r2": "p2@gw r1@gw"}, "s.ns.global"},
	} {
		inv := mixed(t, tc.discovery, svc)
		m := New(inv)
		s := m.Services()[0]
		if s.Host != tc.host {
			t.Errorf("%s: host %s, want %s", tc.discovery, s.Host, tc.host)
		}
		for from, want := range tc.want {
			if got := hops(m.Serving(s, from)); got != want {
				t.Errorf("%s: from %s: %q, want %q", tc.discovery, from, got, want)
			}
		}
		if got := m.Consumers(s); !slices.Equal(got, []string{"p1", "r2"}) {
			t.Errorf("%s: consumers %v", tc.discovery, got)
		}
	}
}

func TestClusterLocalAndConflicts(t *testing.T) {
	// Denied p2 shares its istiod with r2, which runs the service alone:
	// expressible as a cluster-local host in p2's istiod.
	ok := "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [r2], exportTo: [p1, r1]}\n"
	m := New(mixed(t, RemoteSecrets, ok))
	if cs := m.Conflicts(); len(cs) != 0 {
		t.Errorf("conflicts %v", cs)
	}
	if got := m.ClusterLocalHosts("p2"); !slices.Equal(got, []string{"s.ns.svc.cluster.local"}) {
		t.Errorf("p2 cluster-local %v", got)
	}
	if got := m.ClusterLocalHosts("p1"); got != nil {
		t.Errorf("p1 cluster-local %v", got)
	}
	// Denied r1 shares its istiod with p1, which must reach r2: no
	// setting of that istiod does both.
	bad := "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [r2], exportTo: [p1]}\n"
	m = New(mixed(t, RemoteSecrets, bad))
	cs := m.Conflicts()
	if len(cs) != 1 || cs[0].Path != "services[0].exportTo" || !strings.Contains(cs[0].Msg, "r1 may not call s.ns but p1 must reach it") {
		t.Errorf("conflicts %+v", cs)
	}
}

// TestServingAgreesWithRoutes holds the model the renderers use to the route
// table users read, on every golden scenario: who may call each service and
// which exporters serve each caller, directly or through which gateway.
func TestServingAgreesWithRoutes(t *testing.T) {
	n := 0
	for _, g := range goldenInventories(t) {
		p, inv := g.path, g.inv
		m := New(inv)
		byID := map[string]*Service{}
		for _, s := range m.Services() {
			byID[s.ID] = s
		}
		for _, r := range Routes(inv) {
			n++
			s := byID[r.Service]
			if s.Host != r.Host || s.MayCall(r.From) == r.Denied {
				t.Errorf("%s: %s from %s: host %s, may call %v; Routes: host %s, denied %v", p, r.Service, r.From, s.Host, s.MayCall(r.From), r.Host, r.Denied)
			}
			var want []string
			for _, e := range r.Endpoints {
				want = append(want, fmt.Sprintf("%s/%v/%s/%d", e.Cluster, e.Gateway, e.Address, e.Port))
			}
			var got []string
			for _, h := range m.Serving(s, r.From) {
				addr, port := "", 0
				if h.Gateway {
					gw := m.Cluster(h.Cluster).EastWestGateway
					addr, port = gw.Address, gw.Port
				}
				got = append(got, fmt.Sprintf("%s/%v/%s/%d", h.Cluster, h.Gateway, addr, port))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s:%d from %s: Serving %v, Routes %v", p, r.Service, r.Port, r.From, got, want)
			}
		}
	}
	if n == 0 {
		t.Fatal("no routes")
	}
}

// golden is the inventory of a golden scenario.
type golden struct {
	path string
	inv  *inventory.Inventory
}

// goldenInventories loads and validates the inventory of every golden
// scenario.
func goldenInventories(t *testing.T) []golden {
	t.Helper()
	paths, err := filepath.Glob("../testdata/golden/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden scenarios: %v", err)
	}
	var out []golden
	for _, p := range paths {
		arch, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := inventory.Load("inventory.yaml", arch.Files[0].Data)
		if err == nil {
			err = inv.Validate()
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, golden{path: p, inv: inv})
	}
	return out
}

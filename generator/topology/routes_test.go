package topology

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/generator/inventory"
)

func load(t *testing.T, src string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load("inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// pods is an endpoint reached directly; via one reached through a cluster's
// east-west gateway.
func pods(cluster string) Endpoint { return Endpoint{Cluster: cluster} }
func via(cluster, addr string, port uint32) Endpoint {
	return Endpoint{Cluster: cluster, Gateway: true, Address: addr, Port: port}
}

func ok(from, service, host string, port uint32, proto string, eps ...Endpoint) Route {
	return Route{From: from, Service: service, Host: host, Port: port, Protocol: proto, MTLS: true, Endpoints: eps}
}

func denied(from, service, host string, port uint32, proto string) Route {
	return Route{From: from, Service: service, Host: host, Port: port, Protocol: proto, Denied: true}
}

const head = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  istio: {version: 1.28.2}
`

func TestRoutes(t *testing.T) {
	const local = "payments.shop.svc.cluster.local"
	for _, tc := range []struct {
		name string
		inv  string
		want []Route
	}{{
		name: "multi-primary one network, endpoint discovery: pods everywhere",
		inv: head + `  discovery: remote-secrets
networks: [{name: net1}]
clusters:
  - {name: b, network: net1, eastWestGateway: {address: 203.0.113.2}}
  - {name: a, network: net1, eastWestGateway: {address: 203.0.113.1}}
  - {name: c, network: net1}
services:
  - name: payments
    namespace: shop
    ports: [{name: grpc, port: 9090, protocol: GRPC}]
    clusters: [b, a]
`,
		want: []Route{
			ok("a", "payments.shop", local, 9090, "GRPC", pods("a"), pods("b")),
			ok("b", "payments.shop", local, 9090, "GRPC", pods("a"), pods("b")),
			ok("c", "payments.shop", local, 9090, "GRPC", pods("a"), pods("b")),
		},
	}, {
		name: "multi-primary two networks, endpoint discovery: the other network through its gateway",
		inv: head + `  discovery: remote-secrets
networks: [{name: net1}, {name: net2}]
clusters:
  - {name: eu-1, network: net1, eastWestGateway: {address: 203.0.113.10}}
  - {name: us-1, network: net2, eastWestGateway: {address: 203.0.113.30, port: 15444}}
  - {name: eu-2, network: net1, eastWestGateway: {address: "2001:db8::2"}}
services:
  - name: payments
    namespace: shop
    ports: [{name: metrics, port: 9100, protocol: TCP}, {name: grpc, port: 9090, protocol: GRPC}]
    clusters: [us-1, eu-1]
`,
		want: []Route{
			ok("eu-1", "payments.shop", local, 9090, "GRPC", pods("eu-1"), via("us-1", "203.0.113.30", 15444)),
			ok("eu-2", "payments.shop", local, 9090, "GRPC", pods("eu-1"), via("us-1", "203.0.113.30", 15444)),
			ok("us-1", "payments.shop", local, 9090, "GRPC", via("eu-1", "203.0.113.10", 15443), pods("us-1")),
			ok("eu-1", "payments.shop", local, 9100, "TCP", pods("eu-1"), via("us-1", "203.0.113.30", 15444)),
			ok("eu-2", "payments.shop", local, 9100, "TCP", pods("eu-1"), via("us-1", "203.0.113.30", 15444)),
			ok("us-1", "payments.shop", local, 9100, "TCP", via("eu-1", "203.0.113.10", 15443), pods("us-1")),
		},
	}, {
		name: "service entries: every other exporter through its gateway, even on the caller's network",
		inv: head + `  discovery: service-entries
  serviceSuffix: mesh.example
networks: [{name: net1}, {name: net2}]
clusters:
  - {name: eu-1, network: net1, eastWestGateway: {address: 203.0.113.10}}
  - {name: eu-2, network: net1, eastWestGateway: {address: 203.0.113.20}}
  - {name: us-1, network: net2, eastWestGateway: {address: ew.us-1.example.net}}
services:
  - name: payments
    namespace: shop
    ports: [{name: grpc, port: 9090, protocol: GRPC}]
    clusters: [eu-1, us-1]
`,
		want: []Route{
			ok("eu-1", "payments.shop", "payments.shop.mesh.example", 9090, "GRPC", pods("eu-1"), via("us-1", "ew.us-1.example.net", 15443)),
			ok("eu-2", "payments.shop", "payments.shop.mesh.example", 9090, "GRPC", via("eu-1", "203.0.113.10", 15443), via("us-1", "ew.us-1.example.net", 15443)),
			ok("us-1", "payments.shop", "payments.shop.mesh.example", 9090, "GRPC", via("eu-1", "203.0.113.10", 15443), pods("us-1")),
		},
	}, {
		name: "service entries, default suffix; a primary-remote pair on two networks: the remote is a cluster of its own",
		inv: head + `  discovery: service-entries
networks: [{name: network1}, {name: network2}]
clusters:
  - {name: primary-1, network: network1, eastWestGateway: {address: 192.0.2.10}}
  - {name: remote-1, network: network2, role: remote, primary: primary-1, eastWestGateway: {address: 192.0.2.20}}
services:
  - name: web
    namespace: frontend
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [remote-1]
`,
		want: []Route{
			ok("primary-1", "web.frontend", "web.frontend.global", 8080, "HTTP", via("remote-1", "192.0.2.20", 15443)),
			ok("remote-1", "web.frontend", "web.frontend.global", 8080, "HTTP", pods("remote-1")),
		},
	}, {
		name: "primary-remote one network, endpoint discovery: the remote's pods directly, both ways",
		inv: head + `  discovery: remote-secrets
networks: [{name: network1}]
clusters:
  - {name: primary-1, network: network1}
  - {name: remote-1, network: network1, role: remote, primary: primary-1}
services:
  - name: web
    namespace: frontend
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [remote-1, primary-1]
`,
		want: []Route{
			ok("primary-1", "web.frontend", "web.frontend.svc.cluster.local", 8080, "HTTP", pods("primary-1"), pods("remote-1")),
			ok("remote-1", "web.frontend", "web.frontend.svc.cluster.local", 8080, "HTTP", pods("primary-1"), pods("remote-1")),
		},
	}, {
		name: "mixed mesh with exportTo: outside it no endpoint, the exporters keep theirs",
		inv: head + `  discovery: remote-secrets
networks: [{name: west}, {name: east}]
clusters:
  - {name: west-1, network: west, eastWestGateway: {address: 203.0.113.10}}
  - {name: west-2, network: west, role: remote, primary: west-1, eastWestGateway: {address: 203.0.113.20}}
  - {name: east-1, network: east, eastWestGateway: {address: ew.east-1.example.net}}
  - {name: east-2, network: west, role: remote, primary: east-1, eastWestGateway: {address: 203.0.113.40}}
services:
  - name: orders
    namespace: shop
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [west-1, east-1]
  - name: ledger
    namespace: finance
    ports: [{name: grpc, port: 9090, protocol: GRPC}]
    clusters: [east-2]
    exportTo: [west-1, west-2]
`,
		want: []Route{
			denied("east-1", "ledger.finance", "ledger.finance.svc.cluster.local", 9090, "GRPC"),
			ok("east-2", "ledger.finance", "ledger.finance.svc.cluster.local", 9090, "GRPC", pods("east-2")),
			ok("west-1", "ledger.finance", "ledger.finance.svc.cluster.local", 9090, "GRPC", pods("east-2")),
			ok("west-2", "ledger.finance", "ledger.finance.svc.cluster.local", 9090, "GRPC", pods("east-2")),
			ok("east-1", "orders.shop", "orders.shop.svc.cluster.local", 8080, "HTTP", pods("east-1"), via("west-1", "203.0.113.10", 15443)),
			ok("east-2", "orders.shop", "orders.shop.svc.cluster.local", 8080, "HTTP", via("east-1", "ew.east-1.example.net", 15443), pods("west-1")),
			ok("west-1", "orders.shop", "orders.shop.svc.cluster.local", 8080, "HTTP", via("east-1", "ew.east-1.example.net", 15443), pods("west-1")),
			ok("west-2", "orders.shop", "orders.shop.svc.cluster.local", 8080, "HTTP", via("east-1", "ew.east-1.example.net", 15443), pods("west-1")),
		},
	}, {
		name: "exportTo naming only exporters: nobody else calls it",
		inv: head + `  discovery: service-entries
networks: [{name: n1}, {name: n2}]
clusters:
  - {name: a, network: n1, eastWestGateway: {address: 192.0.2.1}}
  - {name: b, network: n2, eastWestGateway: {address: 192.0.2.2}}
  - {name: c, network: n1}
services:
  - name: db
    namespace: data
    ports: [{name: tcp, port: 5432, protocol: TCP}]
    clusters: [a, b]
    exportTo: [a]
`,
		want: []Route{
			ok("a", "db.data", "db.data.global", 5432, "TCP", pods("a"), via("b", "192.0.2.2", 15443)),
			ok("b", "db.data", "db.data.global", 5432, "TCP", via("a", "192.0.2.1", 15443), pods("b")),
			denied("c", "db.data", "db.data.global", 5432, "TCP"),
		},
	}, {
		name: "an exporter without a gateway serves only its own network",
		inv: head + `  discovery: remote-secrets
networks: [{name: n1}, {name: n2}]
clusters:
  - {name: a, network: n1}
  - {name: b, network: n2, eastWestGateway: {address: 192.0.2.2}}
  - {name: c, network: n1}
services:
  - name: db
    namespace: data
    ports: [{name: tcp, port: 5432, protocol: TCP}]
    clusters: [a, b]
    exportTo: [c]
`,
		want: []Route{
			ok("a", "db.data", "db.data.svc.cluster.local", 5432, "TCP", pods("a"), via("b", "192.0.2.2", 15443)),
			ok("b", "db.data", "db.data.svc.cluster.local", 5432, "TCP", pods("b")),
			ok("c", "db.data", "db.data.svc.cluster.local", 5432, "TCP", pods("a"), via("b", "192.0.2.2", 15443)),
		},
	}, {
		name: "no services, no routes",
		inv: head + `networks: [{name: n1}]
clusters: [{name: a, network: n1}]
`,
		want: []Route{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Routes(load(t, tc.inv))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Routes:\n%s\nwant:\n%s", dump(got), dump(tc.want))
			}
		})
	}
}

func dump(rs []Route) string {
	var b strings.Builder
	for _, r := range rs {
		data, _ := json.Marshal(r)
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRouteJSON pins the JSON form, a stable interface of `meshgen routes
// --format json`.
func TestRouteJSON(t *testing.T) {
	rs := []Route{
		ok("us-1", "payments.shop", "payments.shop.svc.cluster.local", 9090, "GRPC", pods("eu-1"), via("us-2", "203.0.113.30", 15443)),
		denied("eu-2", "payments.shop", "payments.shop.svc.cluster.local", 9090, "GRPC"),
	}
	data, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"from":"us-1","service":"payments.shop","host":"payments.shop.svc.cluster.local","port":9090,"protocol":"GRPC","mtls":true,` +
		`"endpoints":[{"cluster":"eu-1"},{"cluster":"us-2","gateway":true,"address":"203.0.113.30","port":15443}]},` +
		`{"from":"eu-2","service":"payments.shop","host":"payments.shop.svc.cluster.local","port":9090,"protocol":"GRPC","denied":true,"mtls":false}]`
	if string(data) != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", data, want)
	}
}

// TestRoutesGoldenScenarios checks, on every golden inventory, what holds
// of every route whatever the topology: one per service, port and cluster,
// in order; denied exactly outside exportTo; every allowed route has an
// endpoint per exporter it can reach, its own pods when it runs the
// service, and never a gateway of its own cluster.
func TestRoutesGoldenScenarios(t *testing.T) {
	for _, g := range goldenInventories(t) {
		p, inv := g.path, g.inv
		routes := Routes(inv)
		if all := slices.Collect(AllRoutes(inv)); len(all) != len(routes) || len(all) > 0 && !reflect.DeepEqual(all, routes) {
			t.Errorf("%s: AllRoutes yields other routes than Routes", p)
		}
		for r := range AllRoutes(inv) {
			if !reflect.DeepEqual(r, routes[0]) {
				t.Errorf("%s: AllRoutes starts with %+v, Routes with %+v", p, r, routes[0])
			}
			break // and AllRoutes stops
		}
		n := 0
		for _, s := range inv.Services {
			n += len(s.Ports) * len(inv.Clusters)
		}
		if len(routes) != n {
			t.Errorf("%s: %d routes, want %d", p, len(routes), n)
		}
		if !sort.SliceIsSorted(routes, func(i, j int) bool {
			a, b := routes[i], routes[j]
			if a.Service != b.Service {
				return a.Service < b.Service
			}
			if a.Port != b.Port {
				return a.Port < b.Port
			}
			return a.From < b.From
		}) {
			t.Errorf("%s: routes not sorted by service, port, from", p)
		}
		network := map[string]string{}
		for _, c := range inv.Clusters {
			network[c.Name] = c.Network
		}
		for _, r := range routes {
			var s *inventory.Service
			for i := range inv.Services {
				if inv.Services[i].Name+"."+inv.Services[i].Namespace == r.Service {
					s = &inv.Services[i]
				}
			}
			runs := contains(s.Clusters, r.From)
			allowed := runs || s.ExportTo == nil || contains(s.ExportTo, r.From)
			if r.Denied == allowed || r.MTLS != allowed || (r.Denied && len(r.Endpoints) > 0) {
				t.Errorf("%s: %+v: denied %v, mtls %v, want allowed %v", p, r, r.Denied, r.MTLS, allowed)
			}
			if !allowed {
				continue
			}
			if len(r.Endpoints) != len(s.Clusters) {
				t.Errorf("%s: %+v: %d endpoints, want one per exporter (%v)", p, r, len(r.Endpoints), s.Clusters)
			}
			for _, e := range r.Endpoints {
				if e.Cluster == r.From && e.Gateway {
					t.Errorf("%s: %+v reaches its own cluster through a gateway", p, r)
				}
				if e.Gateway && (e.Address == "" || e.Port == 0) {
					t.Errorf("%s: %+v: gateway endpoint without address", p, r)
				}
				if !e.Gateway && e.Cluster != r.From && (inv.Mesh.Discovery != "remote-secrets" || network[e.Cluster] != network[r.From]) {
					t.Errorf("%s: %+v: direct endpoint %s across networks or without endpoint discovery", p, r, e.Cluster)
				}
			}
			if runs && (len(r.Endpoints) == 0 || !hasDirect(r.Endpoints, r.From)) {
				t.Errorf("%s: %+v: an exporter does not reach its own pods", p, r)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasDirect(eps []Endpoint, cluster string) bool {
	for _, e := range eps {
		if e.Cluster == cluster && !e.Gateway {
			return true
		}
	}
	return false
}

// TestRoutesPure checks that Routes neither changes the inventory nor
// depends on the order of its lists.
func TestRoutesPure(t *testing.T) {
	src := head + `  discovery: remote-secrets
networks: [{name: n1}, {name: n2}]
clusters:
  - {name: a, network: n1, eastWestGateway: {address: 192.0.2.1}}
  - {name: b, network: n2, eastWestGateway: {address: 192.0.2.2}}
  - {name: c, network: n1}
services:
  - {name: x, namespace: ns, ports: [{name: p, port: 2, protocol: TCP}, {name: q, port: 1, protocol: TCP}], clusters: [b, a]}
  - {name: w, namespace: ns, ports: [{name: p, port: 1, protocol: TCP}], clusters: [c], exportTo: [b]}
`
	inv := load(t, src)
	before, _ := json.Marshal(inv)
	got := Routes(inv)
	after, _ := json.Marshal(inv)
	if string(before) != string(after) {
		t.Errorf("Routes changed the inventory")
	}
	rev := load(t, src)
	for i, j := 0, len(rev.Clusters)-1; i < j; i, j = i+1, j-1 {
		rev.Clusters[i], rev.Clusters[j] = rev.Clusters[j], rev.Clusters[i]
	}
	rev.Services[0], rev.Services[1] = rev.Services[1], rev.Services[0]
	if again := Routes(rev); !reflect.DeepEqual(got, again) {
		t.Errorf("Routes depends on the inventory's order:\n%s\nvs\n%s", dump(got), dump(again))
	}
}

// TestRoutesAmbient: with the ambient data plane a ztunnel reaches the
// serving pods of its own cluster directly and another network's through
// that network's east-west gateway, every hop over HBONE on 15008; the JSON
// says so in transport.
func TestRoutesAmbient(t *testing.T) {
	const local = "payments.shop.svc.cluster.local"
	inv := load(t, head+`  dataplane: ambient
networks: [{name: net1}, {name: net2}, {name: net3}]
clusters:
  - {name: eu-1, network: net1, eastWestGateway: {address: 203.0.113.10}}
  - {name: us-1, network: net2, eastWestGateway: {address: eastwest.us-1.example.net}}
  - {name: ap-1, network: net3, eastWestGateway: {address: "2001:db8::3"}}
services:
  - name: payments
    namespace: shop
    ports: [{name: grpc, port: 9090, protocol: GRPC}]
    clusters: [us-1, eu-1]
`)
	hbone := func(e Endpoint) Endpoint { e.Transport = HBONE; return e }
	want := []Route{
		ok("ap-1", "payments.shop", local, 9090, "GRPC", hbone(via("eu-1", "203.0.113.10", 15008)), hbone(via("us-1", "eastwest.us-1.example.net", 15008))),
		ok("eu-1", "payments.shop", local, 9090, "GRPC", hbone(pods("eu-1")), hbone(via("us-1", "eastwest.us-1.example.net", 15008))),
		ok("us-1", "payments.shop", local, 9090, "GRPC", hbone(via("eu-1", "203.0.113.10", 15008)), hbone(pods("us-1"))),
	}
	if got := Routes(inv); !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n got %+v\nwant %+v", got, want)
	}
	data, err := json.Marshal(Routes(inv)[1].Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	if w := `[{"cluster":"eu-1","transport":"HBONE"},{"cluster":"us-1","gateway":true,"address":"eastwest.us-1.example.net","port":15008,"transport":"HBONE"}]`; string(data) != w {
		t.Errorf("JSON %s, want %s", data, w)
	}
}

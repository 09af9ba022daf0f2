package generator

import (
	"strings"
	"testing"

	"github.com/meshgen/meshgen/generator/topology"
)

func TestParseRouteTableErrors(t *testing.T) {
	const head = "## Clusters\n\n| cluster | network |\n|---|---|\n| a | n |\n| b | n |\n\n## Routes\n\n" +
		"| from | host:port | protocol | endpoints | mTLS |\n|---|---|---|---|---|\n"
	for _, tc := range []struct{ rows, want string }{
		{"| a | x.y.svc.cluster.local | TCP | a pods | yes |\n", `MESH.md:12: "x.y.svc.cluster.local" is not host:port`},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods |\n", "MESH.md:12: a route row has 5 cells, this one 4"},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pod | yes |\n", `MESH.md:12: endpoint "a pod" is neither "CLUSTER pods" nor "CLUSTER via ADDRESS:PORT"`},
		{"| a | x.y.svc.cluster.local:80 | TCP | b via 10.0.0.1 | yes |\n", `MESH.md:12: endpoint "b via 10.0.0.1" is neither "CLUSTER pods" nor "CLUSTER via ADDRESS:PORT"`},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods | maybe |\n", `MESH.md:12: mTLS "maybe" is neither yes nor no`},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n", "MESH.md:13: a second route from a to x.y.svc.cluster.local:80"},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n| 2 other clusters | x.y.svc.cluster.local:80 | TCP | denied (exportTo) | — |\n", "MESH.md:13: 2 other clusters are denied, but the page lists 1"},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n| a, b | x.y.svc.cluster.local:80 | TCP | denied (exportTo) | — |\n", "MESH.md:13: a second route from a to x.y.svc.cluster.local:80"},
		{"| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n| a | x.y.svc.cluster.local:81 | TCP | a pods | yes |\n| b | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n", "MESH.md:14: the rows of x.y.svc.cluster.local:80 are not together"},
	} {
		_, _, err := ParseRouteTable([]byte(head + tc.rows))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.rows, err, tc.want)
		}
	}
	rs, found, err := ParseRouteTable([]byte(head + "| a | x.y.svc.cluster.local:80 | TCP | a pods | yes |\n| 1 other clusters | x.y.svc.cluster.local:80 | TCP | denied (exportTo) | — |\n"))
	if err != nil || !found || len(rs) != 2 || rs[1].From != "b" || !rs[1].Denied {
		t.Errorf("counted denied callers: %+v, %v, %v", rs, found, err)
	}
	if _, found, err := ParseRouteTable([]byte("# Mesh\n\n## Clusters\n")); found || err != nil {
		t.Errorf("a page without routes: found %v, %v", found, err)
	}
}

// TestWriteRouteRow checks the fast row writer against the cell functions
// `meshgen routes` uses.
func TestWriteRouteRow(t *testing.T) {
	for _, r := range []topology.Route{
		{From: "a", Host: "x.y.global", Port: 80, Protocol: "HTTP", MTLS: true},
		{From: "a", Host: "x.y.svc.cluster.local", Port: 65535, Protocol: "TCP", MTLS: false,
			Endpoints: []topology.Endpoint{{Cluster: "a"}, {Cluster: "b", Gateway: true, Address: "2001:db8::1", Port: 15443}, {Cluster: "c", Gateway: true, Address: "ew.example.net", Port: 1}}},
		{From: "a", Host: "x.y.svc.cluster.local", Port: 80, Protocol: "HTTP", MTLS: true,
			Endpoints: []topology.Endpoint{{Cluster: "a", Transport: topology.HBONE}, {Cluster: "b", Gateway: true, Address: "2001:db8::1", Port: 15008, Transport: topology.HBONE}}},
	} {
		var got, want strings.Builder
		writeRouteRow(&got, r)
		row(&want, r.From, HostPort(r), r.Protocol, EndpointsText(r), MTLSText(r))
		if got.String() != want.String() {
			t.Errorf("writeRouteRow: %q, want %q", got.String(), want.String())
		}
	}
}

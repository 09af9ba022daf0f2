package generator

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshgen/meshgen/generator/topology"
)

func TestCompareRoutes(t *testing.T) {
	const host = "payments.shop.svc.cluster.local"
	route := func(from string, eps ...topology.Endpoint) topology.Route {
		return topology.Route{From: from, Service: "payments.shop", Host: host, Port: 9090, Protocol: "GRPC", MTLS: true, Endpoints: eps}
	}
	deny := func(from string) topology.Route {
		return topology.Route{From: from, Service: "payments.shop", Host: host, Port: 9090, Protocol: "GRPC", Denied: true}
	}
	pods := func(c string) topology.Endpoint { return topology.Endpoint{Cluster: c} }
	via := func(c, addr string) topology.Endpoint {
		return topology.Endpoint{Cluster: c, Gateway: true, Address: addr, Port: 15443}
	}
	before := []topology.Route{
		route("eu-1", pods("eu-1")),
		route("eu-2", pods("eu-1")),
		route("us-1", pods("us-1")),
		route("us-2", via("eu-1", "203.0.113.10")),
		deny("us-3"),
		deny("us-9"),
	}
	after := []topology.Route{
		route("eu-1", pods("eu-1")),
		route("us-1", via("eu-1", "203.0.113.10"), pods("us-1")),
		deny("us-2"),
		route("us-3", via("eu-1", "2001:db8::10")),
		route("us-4", via("eu-1", "203.0.113.10")),
		deny("us-5"),
	}
	var got []string
	for _, c := range CompareRoutes(before, after) {
		got = append(got, c.String())
		if (c.Before == nil) == (c.After == nil) && (c.Before == nil || c.Change == "") {
			t.Errorf("%s: before %v, after %v", c, c.Before, c.After)
		}
	}
	want := []string{
		"payments.shop:9090 from eu-2: removed",
		"payments.shop:9090 from us-1: now via eu-1 east-west gateway (203.0.113.10:15443)",
		"payments.shop:9090 from us-2: now denied",
		"payments.shop:9090 from us-3: now allowed: eu-1 via [2001:db8::10]:15443",
		"payments.shop:9090 from us-4: added: eu-1 via 203.0.113.10:15443",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	moved := route("eu-2", via("eu-1", "203.0.113.10"), pods("us-1"))
	moved.Host, moved.Protocol, moved.MTLS = "payments.shop.global", "HTTP2", false
	got = nil
	for _, c := range CompareRoutes([]topology.Route{route("eu-2", pods("eu-1"), via("us-1", "203.0.113.30"))}, []topology.Route{moved}) {
		got = append(got, c.String())
	}
	if w := "payments.shop:9090 from eu-2: host now payments.shop.global; protocol now HTTP2; mTLS now off; " +
		"now via eu-1 east-west gateway (203.0.113.10:15443); now to us-1 pods directly"; len(got) != 1 || got[0] != w {
		t.Errorf("changes: %q, want %q", got, w)
	}
	if c := CompareRoutes(after, after); len(c) != 0 {
		t.Errorf("no change gives %v", c)
	}

	// Sidecar to ambient: the same clusters, every hop now HBONE.
	hbone := func(e topology.Endpoint) topology.Endpoint {
		e.Transport = topology.HBONE
		if e.Gateway {
			e.Port = 15008
		}
		return e
	}
	got = nil
	for _, c := range CompareRoutes([]topology.Route{route("eu-2", pods("eu-1"), via("us-1", "203.0.113.30"))},
		[]topology.Route{route("eu-2", hbone(pods("eu-1")), hbone(via("us-1", "203.0.113.30")))}) {
		got = append(got, c.String())
	}
	if w := "payments.shop:9090 from eu-2: now to eu-1 pods directly over HBONE; now via us-1 east-west gateway (203.0.113.30:15008) over HBONE"; len(got) != 1 || got[0] != w {
		t.Errorf("changes: %q, want %q", got, w)
	}
}

// TestCompareRouteTables checks, for every pair of golden scenarios (as
// if one inventory were edited into the other), that comparing their
// MESH.md tables gives exactly the changes of their routes, though it
// parses only the rows that differ.
func TestCompareRouteTables(t *testing.T) {
	scs := loadScenarios(t)
	pages := make([][]byte, len(scs))
	for i, sc := range scs {
		pages[i] = renderMeshMD(sc.inv, topology.New(sc.inv), nil, nil)
	}
	pairs := 0
	for i, a := range scs {
		for j, b := range scs {
			got, found, err := CompareRouteTables(pages[i], pages[j])
			if err != nil || !found {
				t.Fatalf("%s → %s: found %v, %v", a.file, b.file, found, err)
			}
			want := CompareRoutes(topology.Routes(a.inv), topology.Routes(b.inv))
			if len(got) != len(want) {
				t.Errorf("%s → %s: %d changes, want %d", a.file, b.file, len(got), len(want))
				continue
			}
			for k := range want {
				if got[k].String() != want[k].String() {
					t.Errorf("%s → %s: change %d is %q, want %q", a.file, b.file, k, got[k], want[k])
				}
			}
			if len(want) > 0 {
				pairs++
			}
		}
	}
	if pairs < 50 {
		t.Errorf("only %d pairs of scenarios differ in their routes", pairs)
	}
	// A discovery mode change is a host change of each route, not a removal
	// and an addition.
	rs := -1
	for i, sc := range scs {
		if strings.HasSuffix(sc.file, "/mixed-helm.txtar") {
			rs = i
		}
	}
	inv := *scs[rs].inv
	inv.Mesh.Discovery = "service-entries"
	other := renderMeshMD(&inv, topology.New(&inv), nil, nil)
	got, _, err := CompareRouteTables(pages[rs], other)
	if err != nil || len(got) == 0 {
		t.Fatalf("mode change: %v, %v", got, err)
	}
	for _, c := range got {
		if c.Before == nil || c.After == nil || !strings.HasPrefix(c.Change, "host now "+c.Service+".global") {
			t.Errorf("mode change: %s", c)
		}
	}
}

// FuzzRouteTables feeds edited MESH.md pages to the readers `meshgen diff`
// runs on the page on disk: they must never panic, and a page compared with
// itself has no change.
func FuzzRouteTables(f *testing.F) {
	paths, _ := filepath.Glob("testdata/golden/*.txtar")
	for _, p := range paths {
		arch, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range arch.Files {
			if file.Name == MeshMDPath {
				f.Add(file.Data)
			}
		}
	}
	f.Add([]byte("## Clusters\n| a | n |\n## Routes\n| 1 other clusters | x.y.z:1 | TCP | denied (exportTo) | — |\n"))
	f.Fuzz(func(t *testing.T, md []byte) {
		routes, found, err := ParseRouteTable(md)
		// CompareRouteTables parses only rows that differ, so it may accept
		// a page ParseRouteTable rejects, never the other way round.
		if c, _, cerr := CompareRouteTables(md, md); cerr != nil && err == nil || len(c) != 0 {
			t.Fatalf("ParseRouteTable: %v, CompareRouteTables: %v, %v", err, c, cerr)
		}
		if err != nil || !found {
			return
		}
		if c := CompareRoutes(routes, routes); len(c) != 0 {
			t.Fatalf("a page differs from itself: %v", c)
		}
	})
}

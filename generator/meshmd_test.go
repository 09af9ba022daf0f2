package generator

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/fleet"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

// flowchart is the structure of a Mermaid flowchart as MESH.md writes it.
type flowchart struct {
	subgraphs map[string][]string // subgraph label -> labels of its nodes
	nodes     map[string]string   // node ID -> label
	dotted    []string            // "from -> to: label", by node label
	solid     []string
}

var (
	subgraphRE = regexp.MustCompile(`^  subgraph (\w+)\["([^"]*)"\]$`)
	nodeRE     = regexp.MustCompile(`^ {2,4}(\w+)\["([^"]*)"\]$`)
	dottedRE   = regexp.MustCompile(`^  (\w+) -\. (istiod|"[^"]*") \.-> (\w+)$`)
	solidRE    = regexp.MustCompile(`^  (\w+) -->\|"([^"]*)"\| (\w+)$`)
)

// parseFlowchart parses the one Mermaid block of a MESH.md; any line it
// does not know fails the test, so the checks below see the whole diagram.
func parseFlowchart(t *testing.T, md []byte) *flowchart {
	t.Helper()
	_, rest, ok := bytes.Cut(md, []byte("```mermaid\n"))
	if !ok {
		t.Fatalf("no mermaid block in:\n%s", md)
	}
	block, _, ok := bytes.Cut(rest, []byte("```\n"))
	if !ok {
		t.Fatal("unterminated mermaid block")
	}
	lines := strings.Split(strings.TrimSuffix(string(block), "\n"), "\n")
	if lines[0] != "flowchart LR" {
		t.Fatalf("diagram starts with %q, want flowchart LR", lines[0])
	}
	fc := &flowchart{subgraphs: map[string][]string{}, nodes: map[string]string{}}
	type edge struct{ from, label, to string }
	var dotted, solid []edge
	current := ""
	for _, l := range lines[1:] {
		if m := subgraphRE.FindStringSubmatch(l); m != nil {
			if current != "" {
				t.Fatalf("nested subgraph %q", l)
			}
			if _, dup := fc.subgraphs[m[2]]; dup {
				t.Fatalf("subgraph %s twice", m[2])
			}
			current = m[2]
			fc.subgraphs[current] = []string{}
			continue
		}
		if l == "  end" {
			if current == "" {
				t.Fatal("end outside a subgraph")
			}
			current = ""
			continue
		}
		if m := nodeRE.FindStringSubmatch(l); m != nil {
			if _, dup := fc.nodes[m[1]]; dup {
				t.Fatalf("node %s twice", m[1])
			}
			fc.nodes[m[1]] = m[2]
			if current != "" {
				fc.subgraphs[current] = append(fc.subgraphs[current], m[2])
			}
			continue
		}
		if m := dottedRE.FindStringSubmatch(l); m != nil {
			dotted = append(dotted, edge{m[1], strings.Trim(m[2], `"`), m[3]})
			continue
		}
		if m := solidRE.FindStringSubmatch(l); m != nil {
			solid = append(solid, edge{m[1], m[2], m[3]})
			continue
		}
		t.Fatalf("unexpected diagram line %q", l)
	}
	if current != "" {
		t.Fatalf("subgraph %s not closed", current)
	}
	name := func(id string) string {
		label, ok := fc.nodes[id]
		if !ok {
			t.Fatalf("edge to undeclared node %s", id)
		}
		first, _, _ := strings.Cut(label, "<br/>")
		return first
	}
	for _, e := range dotted {
		fc.dotted = append(fc.dotted, name(e.from)+" -> "+name(e.to)+": "+e.label)
	}
	for _, e := range solid {
		fc.solid = append(fc.solid, name(e.from)+" -> "+name(e.to)+": "+e.label)
	}
	return fc
}

// TestMeshMDDiagram checks, for every golden scenario, that the diagram of
// MESH.md has exactly one subgraph per network with clusters, one node per
// cluster in its network's subgraph, one dotted edge per remote to its
// primary and one solid edge per consumer → exporter pair, labelled with
// the hosts, worked out here from the inventory independently.
func TestMeshMDDiagram(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		t.Run(strings.TrimSuffix(sc.file[strings.LastIndex(sc.file, "/")+1:], ".txtar"), func(t *testing.T) {
			tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, nil)))
			if err != nil {
				t.Fatal(err)
			}
			f := tree.Get(MeshMDPath)
			if f == nil {
				t.Fatal("no MESH.md")
			}
			if !IsGenerated(f.Data) || !bytes.HasPrefix(f.Data, []byte("<!-- "+Marker+" -->\n")) {
				t.Errorf("MESH.md does not start with the generated-file marker")
			}
			fc := parseFlowchart(t, f.Data)
			inv := sc.inv

			wantSub := map[string][]string{}
			for _, c := range inv.Clusters {
				wantSub[c.Network] = append(wantSub[c.Network], c.Name)
			}
			gotSub := map[string][]string{}
			for net, labels := range fc.subgraphs {
				for _, l := range labels {
					name, rest, _ := strings.Cut(l, "<br/>")
					gotSub[net] = append(gotSub[net], name)
					c := inv.Cluster(name)
					if c == nil {
						t.Errorf("node %q is no cluster", l)
						continue
					}
					role, gw, _ := strings.Cut(rest, "<br/>")
					if role != c.Role {
						t.Errorf("node %q: role %q, want %q", l, role, c.Role)
					}
					if c.EastWestGateway == nil && gw != "" || c.EastWestGateway != nil && !strings.Contains(gw, c.EastWestGateway.Address) {
						t.Errorf("node %q does not show the east-west gateway as it is", l)
					}
				}
			}
			if len(fc.nodes) != len(inv.Clusters) {
				t.Errorf("%d nodes, want one per cluster (%d)", len(fc.nodes), len(inv.Clusters))
			}
			compareSets(t, "subgraphs", mapKeys(gotSub), mapKeys(wantSub))
			for net := range wantSub {
				compareSets(t, "clusters of subgraph "+net, gotSub[net], wantSub[net])
			}

			var wantDotted []string
			for _, c := range inv.Clusters {
				if c.Role == inventory.RoleRemote {
					wantDotted = append(wantDotted, c.Name+" -> "+c.Primary+": istiod")
				}
			}
			compareSets(t, "remote edges", fc.dotted, wantDotted)

			// consumer -> exporter -> hosts, from the inventory's words:
			// exportTo, or every cluster; a cluster running the service
			// itself calls its own copy.
			pairs := map[[2]string][]string{}
			for _, s := range inv.Services {
				consumers := s.ExportTo
				if consumers == nil {
					for _, c := range inv.Clusters {
						consumers = append(consumers, c.Name)
					}
				}
				for _, c := range consumers {
					runs := false
					for _, e := range s.Clusters {
						runs = runs || e == c
					}
					if runs {
						continue
					}
					for _, e := range s.Clusters {
						k := [2]string{c, e}
						pairs[k] = append(pairs[k], testHost(inv, &s))
					}
				}
			}
			var wantSolid []string
			for k, hosts := range pairs {
				sort.Strings(hosts)
				label := hosts[0]
				if len(hosts) > 1 {
					label = fmt.Sprintf("%d services<br/>%s", len(hosts), strings.Join(hosts[:min(3, len(hosts))], "<br/>"))
					if len(hosts) > 3 {
						label += "<br/>…"
					}
				}
				wantSolid = append(wantSolid, k[0]+" -> "+k[1]+": "+label)
			}
			compareSets(t, "service edges", fc.solid, wantSolid)
		})
	}
}

// TestMeshMDTables checks the clusters table against the inventory and the
// generated certificates, and the services table against the ServiceEntries.
func TestMeshMDTables(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, nil)))
		if err != nil {
			t.Fatal(err)
		}
		md := string(tree.Get(MeshMDPath).Data)
		for _, c := range sc.inv.Clusters {
			primary := c.Primary
			if primary == "" {
				primary = "—"
			}
			want := fmt.Sprintf("| %s | %s | %s | %s |", c.Name, c.Network, c.Role, primary)
			// A remote runs no istiod and has no intermediate.
			exp := " — |\n"
			if f := tree.Get(path.Join(StageDir(c.Name, installStage), cacertsFile)); f != nil {
				var doc secrets.Doc
				if err := yaml.Unmarshal(f.Data, &doc); err != nil {
					t.Fatal(err)
				}
				cert, err := secrets.ParseCertPEM([]byte(doc.StringData["ca-cert.pem"]))
				if err != nil {
					t.Fatal(err)
				}
				exp = " " + cert.NotAfter.UTC().Format(time.DateOnly) + " |\n"
			} else if c.Role != inventory.RoleRemote {
				t.Errorf("%s: primary %s has no cacerts", sc.file, c.Name)
			}
			i := strings.Index(md, want)
			if i < 0 {
				t.Errorf("%s: no row %q in MESH.md", sc.file, want)
				continue
			}
			if line, _, _ := strings.Cut(md[i:], "\n"); !strings.HasSuffix(line+"\n", exp) {
				t.Errorf("%s: row %q does not end with the expiry%s", sc.file, line, exp)
			}
		}
		for _, s := range sc.inv.Services {
			host := testHost(sc.inv, &s)
			if !strings.Contains(md, "\n| "+host+" | ") {
				t.Errorf("%s: no row for %s", sc.file, host)
			}
		}
	}
}

// TestMeshMDLargeFleet checks that a large fleet's page stays readable:
// the diagram falls back to networks and stays far below the size Mermaid
// renderers give up at, while the tables keep every cluster and service.
func TestMeshMDLargeFleet(t *testing.T) {
	for _, spec := range []fleet.Spec{fleet.M, fleet.L,
		// Few clusters, many services exported everywhere: edge labels are capped.
		{Clusters: 7, Networks: 2, Services: 3000, RunsIn: 1, ExportTo: 5, AddressPool: "240.0.0.0/12"},
		// Many networks: no diagram at all.
		{Clusters: 120, Networks: 60, Services: 100, RunsIn: 1, ExportTo: 2, AddressPool: "240.0.0.0/12"},
	} {
		inv := loadValid(t, "fleet.yaml", fleet.Inventory(spec))
		md := renderMeshMD(inv, topology.New(inv), nil, nil)
		if again := renderMeshMD(inv, topology.New(inv), nil, nil); !bytes.Equal(md, again) {
			t.Fatal("MESH.md is not deterministic")
		}
		t.Logf("%+v: MESH.md is %d bytes", spec, len(md))
		checkRoundTrip(t, fmt.Sprintf("%+v", spec), inv, md)
		_, rest, hasDiagram := bytes.Cut(md, []byte("```mermaid\n"))
		block, _, _ := bytes.Cut(rest, []byte("```\n"))
		if len(block) > 20000 {
			t.Errorf("%+v: diagram is %d bytes", spec, len(block))
		}
		if hasDiagram && spec.Clusters <= maxDiagramClusters {
			fc := parseFlowchart(t, md)
			if len(fc.nodes) != spec.Clusters {
				t.Errorf("%+v: %d nodes", spec, len(fc.nodes))
			}
		}
		if spec.Networks > maxDiagramNetworks && hasDiagram {
			t.Errorf("%+v: a diagram of %d networks", spec, spec.Networks)
		}
		rows := bytes.Count(md, []byte("\n| "))
		// clusters + networks + services + routes + 4 header rows, where
		// the denied callers of one service port share a row
		routes := 0
		deniedRow := map[string]bool{}
		for _, r := range topology.Routes(inv) {
			if !r.Denied {
				routes++
			} else if k := fmt.Sprint(r.Service, r.Port); !deniedRow[k] {
				deniedRow[k] = true
				routes++
			}
		}
		if want := spec.Clusters + spec.Networks + spec.Services + routes + 4; rows != want {
			t.Errorf("%+v: %d table rows, want %d", spec, rows, want)
		}
	}
}

func compareSets(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func mapKeys[V any](m map[string]V) []string { return sortedKeys(m) }

// TestCacertsPublicValues: the plaintext values of a cacerts file, read
// with sops.ReadPublic as generate reads its prior tree, are the decoded
// document's; the key stays out of reach.
func TestCacertsPublicValues(t *testing.T) {
	sc := loadScenarios(t)[0]
	tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sc.inv.Clusters {
		f := tree.Get(CacertsPath(c.Name))
		if f == nil {
			continue // a remote: no istiod, no intermediate
		}
		var doc secrets.Doc
		if err := yaml.Unmarshal(f.Data, &doc); err != nil {
			t.Fatal(err)
		}
		pub, err := sops.ReadPublic(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"ca-cert.pem", "root-cert.pem", "cert-chain.pem"} {
			want := doc.StringData[key]
			if got, ok := pub.Plain("stringData", key); !ok || got != want || want == "" {
				t.Errorf("%s: Plain(stringData, %s) gives %q, want %q", c.Name, key, got, want)
			}
		}
		if v, ok := pub.Plain("stringData", "ca-key.pem"); ok {
			t.Errorf("%s: the encrypted key reads as plaintext %q", c.Name, v)
		}
	}
}

// checkRoundTrip checks that MESH.md's route table reads back as exactly
// the routes of the inventory: what `meshgen diff` relies on.
func checkRoundTrip(t *testing.T, name string, inv *inventory.Inventory, md []byte) {
	t.Helper()
	got, found, err := ParseRouteTable(md)
	if err != nil || !found {
		t.Fatalf("%s: ParseRouteTable: found %v, %v", name, found, err)
	}
	want := topology.Routes(inv)
	if len(got) != len(want) {
		t.Fatalf("%s: %d routes read back, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !routesEqual(got[i], want[i]) {
			t.Fatalf("%s: route %d reads back as\n%+v\nwant\n%+v", name, i, got[i], want[i])
		}
	}
}

// TestMeshMDRoutes checks the route table of every golden scenario: it
// reads back as the inventory's routes, every allowed route has its row
// with the words `meshgen routes` prints, and denied callers are named.
func TestMeshMDRoutes(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		md := renderMeshMD(sc.inv, topology.New(sc.inv), nil, nil)
		checkRoundTrip(t, sc.file, sc.inv, md)
		_, table, ok := strings.Cut(string(md), "\n## Routes\n\n")
		if !ok {
			t.Fatalf("%s: no route section", sc.file)
		}
		for _, r := range topology.Routes(sc.inv) {
			if r.Denied {
				continue
			}
			want := fmt.Sprintf("\n| %s | %s | %s | %s | yes |\n", r.From, HostPort(r), r.Protocol, EndpointsText(r))
			if !strings.Contains(table, want) {
				t.Errorf("%s: no row %q", sc.file, strings.TrimSpace(want))
			}
		}
	}
}

// TestMeshMDRouteRows pins the rows of a mixed mesh, worked out by hand
// from its inventory: endpoint discovery, two networks, remotes, exportTo,
// denied callers named and counted.
func TestMeshMDRouteRows(t *testing.T) {
	src := `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh: {id: mesh1, istio: {version: 1.28.2}, discovery: remote-secrets}
networks: [{name: west}, {name: east}]
clusters:
  - {name: west-1, network: west, eastWestGateway: {address: 203.0.113.10}}
  - {name: west-2, network: west, role: remote, primary: west-1, eastWestGateway: {address: 203.0.113.20}}
  - {name: east-1, network: east, eastWestGateway: {address: ew.east-1.example.net}}
  - {name: east-2, network: west, role: remote, primary: east-1, eastWestGateway: {address: "2001:db8::40"}}
  - {name: e3, network: east}
  - {name: e4, network: east}
  - {name: e5, network: east}
  - {name: e6, network: east}
  - {name: e7, network: east}
services:
  - name: orders
    namespace: shop
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [west-1, east-1]
    exportTo: [west-2, east-2]
  - name: ledger
    namespace: finance
    ports: [{name: grpc, port: 9090, protocol: GRPC}, {name: metrics, port: 9100, protocol: TCP}]
    clusters: [east-2]
    exportTo: [west-1, west-2]
`
	inv, err := inventory.Load("inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	md := renderMeshMD(inv, topology.New(inv), nil, nil)
	_, table, _ := strings.Cut(string(md), "| from | host:port | protocol | endpoints | mTLS |\n|---|---|---|---|---|\n")
	want := `| east-2 | ledger.finance.svc.cluster.local:9090 | GRPC | east-2 pods | yes |
| west-1 | ledger.finance.svc.cluster.local:9090 | GRPC | east-2 pods | yes |
| west-2 | ledger.finance.svc.cluster.local:9090 | GRPC | east-2 pods | yes |
| 6 other clusters | ledger.finance.svc.cluster.local:9090 | GRPC | denied (exportTo) | — |
| east-2 | ledger.finance.svc.cluster.local:9100 | TCP | east-2 pods | yes |
| west-1 | ledger.finance.svc.cluster.local:9100 | TCP | east-2 pods | yes |
| west-2 | ledger.finance.svc.cluster.local:9100 | TCP | east-2 pods | yes |
| 6 other clusters | ledger.finance.svc.cluster.local:9100 | TCP | denied (exportTo) | — |
| east-1 | orders.shop.svc.cluster.local:8080 | HTTP | east-1 pods, west-1 via 203.0.113.10:15443 | yes |
| east-2 | orders.shop.svc.cluster.local:8080 | HTTP | east-1 via ew.east-1.example.net:15443, west-1 pods | yes |
| west-1 | orders.shop.svc.cluster.local:8080 | HTTP | east-1 via ew.east-1.example.net:15443, west-1 pods | yes |
| west-2 | orders.shop.svc.cluster.local:8080 | HTTP | east-1 via ew.east-1.example.net:15443, west-1 pods | yes |
| e3, e4, e5, e6, e7 | orders.shop.svc.cluster.local:8080 | HTTP | denied (exportTo) | — |
`
	if table != want {
		t.Errorf("route rows:\n%s\nwant:\n%s", table, want)
	}
	checkRoundTrip(t, "mixed", inv, md)
}

// testHost is the host callers use, in the inventory's words: the
// Kubernetes name with remote-secrets, the exported name with
// service-entries.
func testHost(inv *inventory.Inventory, s *inventory.Service) string {
	if inv.Mesh.Discovery == "remote-secrets" {
		return s.Name + "." + s.Namespace + ".svc.cluster.local"
	}
	return s.Host(inv.Mesh.ServiceSuffix)
}

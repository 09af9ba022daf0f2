package generator

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"

	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
)

// The test-only recipients of testdata/age.
const (
	testOperator = "age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf"
	testCluster  = "age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq"
)

func fleetInventory(t *testing.T, pool string, services []string) *inventory.Inventory {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: meshgen/v1alpha1\nkind: Inventory\nmesh:\n  id: m\n  istio: {version: 1.28.2}\n  discovery: service-entries\n  addressPool: %s\n  recipients: [%s]\n", pool, testOperator)
	b.WriteString("networks: [{name: n1}, {name: n2}]\nclusters:\n")
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&b, "  - {name: c%d, network: n%d, eastWestGateway: {address: 203.0.113.%d}, recipients: [%s]}\n", i, i%2+1, i+1, testCluster)
	}
	b.WriteString("services:\n")
	for _, s := range services {
		// name@exporter>consumer
		name, rest, _ := strings.Cut(s, "@")
		exp, cons, _ := strings.Cut(rest, ">")
		fmt.Fprintf(&b, "  - {name: %s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [%s], exportTo: [%s]}\n", name, exp, cons)
	}
	inv, err := inventory.Load("inv.yaml", []byte(b.String()))
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return inv
}

// vipsOf reads every host's addresses from a tree, failing when one host
// has different addresses in different clusters.
func vipsOf(t *testing.T, tree *Tree) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range tree.Files {
		if !strings.HasSuffix(f.Path, "/"+serviceEntriesFile) {
			continue
		}
		for _, doc := range splitDocs(f.Data) {
			var se ServiceEntry
			if err := yaml.Unmarshal(doc, &se); err != nil {
				t.Fatal(err)
			}
			if se.Metadata.Name != se.Spec.Hosts[0] {
				t.Errorf("object name %s differs from host %s", se.Metadata.Name, se.Spec.Hosts[0])
			}
			addr := strings.Join(se.Spec.Addresses, ",")
			if prev, ok := out[se.Spec.Hosts[0]]; ok && prev != addr {
				t.Errorf("%s has address %s in one cluster and %s in another", se.Spec.Hosts[0], prev, addr)
			}
			out[se.Spec.Hosts[0]] = addr
		}
	}
	return out
}

func TestVIPStability(t *testing.T) {
	base := []string{"bravo@c0>c1", "charlie@c1>c2", "delta@c2>c3", "echo@c3>c0"}
	first, err := Generate(fleetInventory(t, "240.0.0.0/24", base), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	before := vipsOf(t, first)
	if len(before) != 4 {
		t.Fatalf("want 4 hosts with addresses, got %v", before)
	}
	for _, tc := range []struct {
		name     string
		services []string
		touched  []string // the only overlays whose service entries may change
	}{
		{"insert one that sorts first", append([]string{"alpha@c0>c1"}, base...), []string{"c0", "c1"}},
		{"remove one in the middle", []string{"bravo@c0>c1", "delta@c2>c3", "echo@c3>c0"}, []string{"c1", "c2"}},
		{"rename one", []string{"bravo@c0>c1", "charlie2@c1>c2", "delta@c2>c3", "echo@c3>c0"}, []string{"c1", "c2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, err := Generate(fleetInventory(t, "240.0.0.0/24", tc.services), testOptions(first.Map()))
			if err != nil {
				t.Fatal(err)
			}
			after := vipsOf(t, next)
			for host, addr := range before {
				if a, ok := after[host]; ok && a != addr {
					t.Errorf("%s moved from %s to %s", host, addr, a)
				}
			}
			seen := map[string]string{}
			for host, addr := range after {
				if other, dup := seen[addr]; dup {
					t.Errorf("%s and %s share %s", host, other, addr)
				}
				seen[addr] = host
			}
			old := first.Map()
			for _, f := range next.Files {
				if string(old[f.Path]) == string(f.Data) {
					continue
				}
				ok := f.Path == MeshMDPath // it lists every service
				for _, c := range tc.touched {
					ok = ok || strings.HasPrefix(f.Path, "overlays/"+c+"/")
				}
				if !ok {
					t.Errorf("%s changed; only overlays of %v should", f.Path, tc.touched)
				}
			}
		})
	}
}

func TestVIPPoolExhausted(t *testing.T) {
	// A /30 has two usable addresses; validation rejects three services, and
	// Generate itself refuses too if called on such an inventory.
	inv := fleetInventory(t, "240.0.0.0/30", []string{"a@c0>c1", "b@c0>c1"})
	inv.Services = append(inv.Services, inv.Services[0])
	inv.Services[2].Name = "c"
	if _, err := Generate(inv, testOptions(nil)); err == nil || !strings.Contains(err.Error(), "fewer than the 3 exported hosts") {
		t.Fatalf("err = %v", err)
	}
}

// relayout rewrites a YAML stream as another tool would: four-space
// indentation, keys in the order given, no meshgen header.
func relayout(t *testing.T, data []byte, edit func(doc map[string]any)) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := yamlv3.NewEncoder(&out)
	enc.SetIndent(4)
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		edit(doc)
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Prior addresses are what the prior files decode to, whatever their
// layout: a tree re-indented by another tool, with one address moved by
// hand, keeps every address, the moved one at its new place.
func TestVIPsReadFromAnyLayout(t *testing.T) {
	inv := fleetInventory(t, "240.0.0.0/24", []string{"bravo@c0>c1", "charlie@c1>c2", "delta@c2>c3", "echo@c3>c0"})
	first := mustGenerate(t, inv, testOptions(nil))
	want := vipsOf(t, first)
	const moved, to = "charlie.ns.global", "240.0.0.200"
	if want[moved] == "" || want[moved] == to {
		t.Fatalf("unexpected first addresses %v", want)
	}
	want[moved] = to
	prior := first.Map()
	relaidOut := 0
	for p, data := range prior {
		if path.Base(p) != serviceEntriesFile {
			continue
		}
		relaidOut++
		prior[p] = relayout(t, data, func(doc map[string]any) {
			spec := doc["spec"].(map[string]any)
			if spec["hosts"].([]any)[0] == moved {
				spec["addresses"] = []any{to}
			}
		})
		if bytes.Contains(prior[p], []byte("\n  hosts:")) {
			t.Fatalf("%s still has meshgen's indentation:\n%s", p, prior[p])
		}
	}
	if relaidOut == 0 {
		t.Fatal("no ServiceEntries files in the first tree")
	}
	next, err := Generate(inv, testOptions(prior))
	if err != nil {
		t.Fatal(err)
	}
	if got := vipsOf(t, next); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("addresses after a re-indented prior tree:\n got %v\nwant %v", got, want)
	}
}

// Two hosts given one address by hand: the host that sorts first keeps it,
// the other gets a fresh one, and every run decides the same.
func TestVIPsSharedByHandAreDeterministic(t *testing.T) {
	inv := fleetInventory(t, "240.0.0.0/24", []string{"bravo@c0>c1", "charlie@c1>c2", "delta@c2>c3", "echo@c3>c0"})
	first := mustGenerate(t, inv, testOptions(nil))
	const shared = "240.0.0.201"
	prior := first.Map()
	for p, data := range prior {
		if path.Base(p) == serviceEntriesFile {
			prior[p] = relayout(t, data, func(doc map[string]any) {
				doc["spec"].(map[string]any)["addresses"] = []any{shared}
			})
		}
	}
	var want map[string]string
	for run := range 20 {
		next, err := Generate(inv, testOptions(prior))
		if err != nil {
			t.Fatal(err)
		}
		got := vipsOf(t, next)
		if run == 0 {
			want = got
			if got["bravo.ns.global"] != shared {
				t.Fatalf("bravo, first in host order, should keep %s: %v", shared, got)
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("run %d gave %v, run 0 gave %v", run, got, want)
		}
	}
}

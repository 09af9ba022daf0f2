package oracle

import (
	"path"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// scenarioCopy returns the named scenario and a copy of its tree to break.
func scenarioCopy(t *testing.T, all []scenario, name string) (*scenario, Tree) {
	t.Helper()
	for i := range all {
		if all[i].name == name {
			tree := Tree{}
			for p, d := range all[i].tree {
				tree[p] = append([]byte(nil), d...)
			}
			return &all[i], tree
		}
	}
	t.Fatalf("no scenario %s", name)
	return nil, nil
}

// drop removes a file from a tree and from its directory's kustomization.
func drop(t *testing.T, tree Tree, file string) {
	t.Helper()
	if _, ok := tree[file]; !ok {
		t.Fatalf("no %s in the tree", file)
	}
	delete(tree, file)
	k := path.Join(path.Dir(file), "kustomization.yaml")
	entry := "- " + path.Base(file) + "\n"
	if _, ok := tree[k]; !ok {
		k = path.Join(path.Dir(path.Dir(file)), "kustomization.yaml")
		entry = "- " + path.Join(path.Base(path.Dir(file)), path.Base(file)) + "\n"
	}
	if !strings.Contains(string(tree[k]), entry) {
		t.Fatalf("%s does not list %s", k, file)
	}
	tree[k] = []byte(strings.Replace(string(tree[k]), entry, "", 1))
}

// TestOracleCatchesBrokenTrees breaks golden trees the way the defects the
// oracle exists for broke them, and requires it to say so: an oracle that
// passes every tree proves nothing.
func TestOracleCatchesBrokenTrees(t *testing.T) {
	cases := []struct {
		name, scenario string
		mutate         func(t *testing.T, tree Tree)
		want           string // in some mismatch's message
	}{{
		name:     "no cross-network Gateway: the east-west gateway has no SNI cluster",
		scenario: "rs-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			for _, c := range []string{"a", "b", "c"} {
				if _, ok := tree["overlays/"+c+"/mesh/cross-network-gateway.yaml"]; ok {
					drop(t, tree, "overlays/"+c+"/mesh/cross-network-gateway.yaml")
				}
			}
		},
		want: "east-west gateway has no cluster outbound_.",
	}, {
		name:     "no remote secrets: an istiod sees only its own cluster",
		scenario: "rs-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			for p := range tree {
				if strings.HasPrefix(p, "overlays/a/mesh/remote-secrets/") {
					drop(t, tree, p)
				}
			}
		},
		want: " from a (host ",
	}, {
		name:     "no tlsMode label and no DestinationRule: plaintext",
		scenario: "se-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			label := regexp.MustCompile(`(?m)^ +security\.istio\.io/tlsMode: istio\n`)
			for p, data := range tree {
				if strings.HasSuffix(p, "/service-entries.yaml") {
					tree[p] = label.ReplaceAll(data, nil)
				}
			}
			for p := range tree {
				if strings.HasSuffix(p, "/destination-rules.yaml") {
					drop(t, tree, p)
				}
			}
		},
		want: "without mTLS",
	}, {
		name:     "Istio config in a remote's overlay is read by no istiod",
		scenario: "se-mixed",
		mutate: func(t *testing.T, tree Tree) {
			// p1's ServiceEntries written into its remote's overlay, as
			// meshgen once wrote a remote's own.
			data := tree["overlays/p1/mesh/service-entries.yaml"]
			drop(t, tree, "overlays/p1/mesh/service-entries.yaml")
			tree["overlays/r1/mesh/service-entries.yaml"] = data
			k := "overlays/r1/mesh/kustomization.yaml"
			tree[k] = []byte(strings.Replace(string(tree[k]), "resources: []", "resources:\n- service-entries.yaml", 1))
		},
		want: "no endpoint",
	}, {
		// Ambient: each of what joins ambient clusters across networks.
		name:     "ambient without the east-west Gateway: no network gateway for the other network",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			for _, c := range []string{"a", "b"} {
				drop(t, tree, "overlays/"+c+"/mesh/eastwest-gateway.yaml")
			}
		},
		want: "meshgen says a pods (HBONE), b via eastwest.b.example.net:15008 (HBONE) with mTLS; Istio computed a pods (HBONE) with mTLS",
	}, {
		name:     "ambient with serviceScopeConfigs that select no exported namespace: services stay local",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			editIstiodValues(t, tree, scopeUnexported)
		},
		want: "meshgen says b via eastwest.b.example.net:15008 (HBONE) with mTLS; Istio computed no endpoint (no service billing/payments.billing.svc.cluster.local)",
	}, {
		name:     "ambient with the exporter's istiod keeping its services local: its east-west gateway forwards nothing",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			editIstiodValuesIn(t, tree, "b", scopeUnexported)
		},
		want: "b's east-west gateway has no cluster inbound-vip|9090|*|payments.billing.svc.cluster.local",
	}, {
		name:     "ambient east-west Gateway without its network label: no network gateway",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			label := regexp.MustCompile(`(?m)^  labels:\n    topology\.istio\.io/network: .*\n`)
			for _, c := range []string{"a", "b"} {
				p := "overlays/" + c + "/mesh/eastwest-gateway.yaml"
				if !label.Match(tree[p]) {
					t.Fatalf("%s has no network label", p)
				}
				tree[p] = label.ReplaceAll(tree[p], nil)
			}
		},
		want: "meshgen says b via eastwest.b.example.net:15008 (HBONE) with mTLS; Istio computed no endpoint",
	}, {
		name:     "ambient without AMBIENT_ENABLE_MULTI_NETWORK: istiod ignores the other clusters",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			editIstiodValues(t, tree, func(values map[string]any) {
				env := values["pilot"].(map[string]any)["env"].(map[string]any)
				if _, ok := env["AMBIENT_ENABLE_MULTI_NETWORK"]; !ok {
					t.Fatal("no AMBIENT_ENABLE_MULTI_NETWORK in the istiod values")
				}
				delete(env, "AMBIENT_ENABLE_MULTI_NETWORK")
			})
		},
		want: "meshgen says b via eastwest.b.example.net:15008 (HBONE) with mTLS; Istio computed no endpoint",
	}, {
		name:     "ambient without remote secrets: an istiod sees only its own cluster",
		scenario: "ambient-mp-two-networks",
		mutate: func(t *testing.T, tree Tree) {
			for p := range tree {
				if strings.Contains(p, "/mesh/remote-secrets/") {
					drop(t, tree, p)
				}
			}
		},
		want: "meshgen says b via eastwest.b.example.net:15008 (HBONE) with mTLS; Istio computed no endpoint",
	}}
	all := scenarios(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, tree := scenarioCopy(t, all, tc.scenario)
			want := topology.Routes(sc.inv)
			if res, err := Simulate(t, sc.inv, sc.tree, want); err != nil || len(Compare(want, res)) != 0 {
				t.Fatalf("the unbroken tree does not hold: %v", err)
			}
			tc.mutate(t, tree)
			res, err := Simulate(t, sc.inv, tree, want)
			if err != nil {
				t.Fatal(err)
			}
			mismatches := Compare(want, res)
			for _, m := range mismatches {
				if strings.Contains(m.Message, tc.want) {
					t.Logf("caught: %s", m.Message)
					return
				}
			}
			t.Errorf("the broken tree was not caught (want a mismatch containing %q); mismatches: %v", tc.want, mismatches)
		})
	}
}

// scopeUnexported points the first serviceScopeConfigs entry of istiod
// values at a namespace that exports nothing.
func scopeUnexported(values map[string]any) {
	scopes := values["meshConfig"].(map[string]any)["serviceScopeConfigs"].([]any)
	expr := scopes[0].(map[string]any)["namespaceSelector"].(map[string]any)["matchExpressions"].([]any)
	expr[0].(map[string]any)["values"] = []any{"unexported"}
}

// editIstiodValues edits the values of every istiod HelmRelease of a tree.
func editIstiodValues(t *testing.T, tree Tree, edit func(values map[string]any)) {
	t.Helper()
	editIstiodValuesIn(t, tree, "", edit)
}

// editIstiodValuesIn edits the values of the istiod HelmRelease of one
// cluster's overlay, or of every overlay for "".
func editIstiodValuesIn(t *testing.T, tree Tree, cluster string, edit func(values map[string]any)) {
	t.Helper()
	n := 0
	for p := range tree {
		if !strings.HasSuffix(p, "/install/istio-helmreleases.yaml") || (cluster != "" && p != "overlays/"+cluster+"/install/istio-helmreleases.yaml") {
			continue
		}
		var docs []string
		for _, d := range tree.docs(p) {
			var m map[string]any
			if err := yaml.Unmarshal(d, &m); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if str(m, "kind") == "HelmRelease" && str(m, "spec", "chart", "spec", "chart") == "istiod" {
				edit(dig(m, "spec", "values").(map[string]any))
				out, err := yaml.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				d = out
				n++
			}
			docs = append(docs, string(d))
		}
		tree[p] = []byte(strings.Join(docs, "\n---\n"))
	}
	if n == 0 {
		t.Fatal("no istiod HelmRelease in the tree")
	}
}

// TestAmbientProfileScopesLabelledServices removes meshgen's
// serviceScopeConfigs from every istiod release: the istiod chart's ambient
// profile (files/profile-ambient.yaml) then supplies its own, which makes
// every Service labelled istio.io/global=true global in any namespace. The
// routes still hold; what meshgen's list adds is the narrowing to the
// namespaces that hold exported services, which the mutation above and
// TestAmbientServiceScope check.
func TestAmbientProfileScopesLabelledServices(t *testing.T) {
	sc, tree := scenarioCopy(t, scenarios(t), "ambient-mp-two-networks")
	editIstiodValues(t, tree, func(values map[string]any) {
		mc := values["meshConfig"].(map[string]any)
		if _, ok := mc["serviceScopeConfigs"]; !ok {
			t.Fatal("no serviceScopeConfigs in the istiod values")
		}
		delete(mc, "serviceScopeConfigs")
	})
	holdAll(t, sc.inv, tree)
}

// holdAll requires every route meshgen promises for inv to hold in tree.
func holdAll(t *testing.T, inv *inventory.Inventory, tree Tree) {
	t.Helper()
	want := topology.Routes(inv)
	res, err := Simulate(t, inv, tree, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Compare(want, res) {
		t.Errorf("route does not hold: %s", m.Message)
	}
}

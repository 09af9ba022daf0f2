package generator

import (
	"errors"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
)

// These tests read the generated trees the way Istio reads them: an istiod
// reads Istio config only from its own cluster's API server, and serves its
// remotes from there. The expectations are derived from the inventory's
// words (role, primary, exportTo), not from the topology package.

// istiodOf is the cluster whose istiod serves c.
func istiodOf(c *inventory.Cluster) string {
	if c.Role == inventory.RoleRemote {
		return c.Primary
	}
	return c.Name
}

// mayCallWords reports whether cluster may call s, as the inventory says it.
func mayCallWords(s *inventory.Service, cluster string) bool {
	return s.ExportTo == nil || slices.Contains(s.ExportTo, cluster) || slices.Contains(s.Clusters, cluster)
}

// objectsIn decodes every YAML document of the files under dir.
func objectsIn(tree *Tree, dir string) []map[string]any {
	var out []map[string]any
	for _, f := range tree.Files {
		if !strings.HasPrefix(f.Path, dir+"/") || strings.HasSuffix(f.Path, ".sops.yaml") {
			continue
		}
		for _, doc := range splitDocs(f.Data) {
			var m map[string]any
			if yaml.Unmarshal(doc, &m) == nil && m != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestIstioConfigInConfigCluster: a remote's overlay holds no Istio config
// (no istiod reads it there), and the config cluster of every cluster that
// may call an exported service holds that host's ISTIO_MUTUAL
// DestinationRule and, with service-entries, its ServiceEntry.
func TestIstioConfigInConfigCluster(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, priorOf(sc.arch))))
		if err != nil {
			t.Fatal(err)
		}
		rs := sc.inv.Mesh.Discovery == "remote-secrets"
		for _, c := range sc.inv.Clusters {
			objs := objectsIn(tree, OverlayDir(c.Name))
			if c.Role == inventory.RoleRemote {
				for _, o := range objs {
					if api, _ := o["apiVersion"].(string); strings.Contains(api, "istio.io/") && o["kind"] != "IstioOperator" {
						t.Errorf("%s: remote %s holds a %s %v, which no istiod reads", sc.file, c.Name, o["kind"], field(o, "metadata", "name"))
					}
				}
				continue
			}
			drs := map[string]string{}
			ses := map[string]bool{}
			for _, o := range objs {
				host, _ := field(o, "spec", "host").(string)
				switch o["kind"] {
				case "DestinationRule":
					mode, _ := field(o, "spec", "trafficPolicy", "tls", "mode").(string)
					drs[host] = mode
				case "ServiceEntry":
					if rs {
						t.Errorf("%s: %s: a ServiceEntry with discovery remote-secrets", sc.file, c.Name)
					}
					for _, h := range field(o, "spec", "hosts").([]any) {
						ses[h.(string)] = true
					}
				}
			}
			for i := range sc.inv.Services {
				s := &sc.inv.Services[i]
				host := testHost(sc.inv, s)
				serves := false
				for j := range sc.inv.Clusters {
					cc := &sc.inv.Clusters[j]
					serves = serves || istiodOf(cc) == c.Name && mayCallWords(s, cc.Name)
				}
				if sc.inv.Mesh.Ambient() {
					// ztunnel applies no DestinationRule; HBONE is mTLS.
					if drs[host] != "" || ses[host] {
						t.Errorf("%s: %s holds a DestinationRule or ServiceEntry for %s with dataplane ambient, which ztunnel never reads", sc.file, c.Name, host)
					}
					continue
				}
				if serves && drs[host] != "ISTIO_MUTUAL" {
					t.Errorf("%s: %s serves a caller of %s but has no ISTIO_MUTUAL DestinationRule for it (got %q)", sc.file, c.Name, host, drs[host])
				}
				if !serves && drs[host] != "" {
					t.Errorf("%s: %s has a DestinationRule for %s although no cluster it serves calls it", sc.file, c.Name, host)
				}
				if !rs && serves && !ses[host] {
					t.Errorf("%s: %s serves a caller of %s but has no ServiceEntry for it", sc.file, c.Name, host)
				}
			}
		}
	}
}

// TestServiceEntryEndpointsMTLS: every ServiceEntry endpoint, the
// exporter's local service as much as a remote gateway, is labelled for
// Istio mTLS; the east-west gateway's SNI cluster keeps only such
// endpoints, and sidecars under STRICT accept nothing else.
func TestServiceEntryEndpointsMTLS(t *testing.T) {
	n := 0
	for _, sc := range loadScenarios(t) {
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, priorOf(sc.arch))))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objectsIn(tree, "overlays") {
			if o["kind"] != "ServiceEntry" {
				continue
			}
			eps, _ := field(o, "spec", "endpoints").([]any)
			for _, ep := range eps {
				n++
				if field(ep.(map[string]any), "labels", "security.istio.io/tlsMode") != "istio" {
					t.Errorf("%s: %v: endpoint %v is not labelled tlsMode istio", sc.file, field(o, "metadata", "name"), ep)
				}
			}
			// Istio accepts only IP addresses with resolution STATIC.
			if field(o, "spec", "resolution") == "STATIC" {
				for _, ep := range eps {
					if a, _ := field(ep.(map[string]any), "address").(string); !inventory.IsIP(a) {
						t.Errorf("%s: %v: STATIC with the name %s", sc.file, field(o, "metadata", "name"), a)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no ServiceEntry endpoints in the golden scenarios")
	}
}

// TestExportToClusterLocal: with remote-secrets, the istiod that serves a
// cluster outside a service's exportTo keeps its host cluster-local
// (meshConfig.serviceSettings), so that cluster gets no endpoint of it;
// every other istiod leaves the host alone.
func TestExportToClusterLocal(t *testing.T) {
	checked := 0
	for _, sc := range loadScenarios(t) {
		if sc.inv.Mesh.Discovery != "remote-secrets" {
			continue
		}
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, priorOf(sc.arch))))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sc.inv.Clusters {
			if p.Role == inventory.RoleRemote {
				continue
			}
			var want []string
			for i := range sc.inv.Services {
				s := &sc.inv.Services[i]
				for _, c := range sc.inv.Clusters {
					if istiodOf(&c) == p.Name && !mayCallWords(s, c.Name) {
						want = append(want, testHost(sc.inv, s))
						break
					}
				}
			}
			sort.Strings(want)
			var iop map[string]any
			f := tree.Get(path.Join(StageDir(p.Name, installStage), "istio-operator.yaml"))
			if err := yaml.Unmarshal(f.Data, &iop); err != nil {
				t.Fatal(err)
			}
			var got []string
			settings, _ := field(iop, "spec", "meshConfig", "serviceSettings").([]any)
			for _, st := range settings {
				if field(st.(map[string]any), "settings", "clusterLocal") != true {
					continue
				}
				for _, h := range field(st.(map[string]any), "hosts").([]any) {
					got = append(got, h.(string))
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: istiod of %s keeps %v cluster-local, want %v", sc.file, p.Name, got, want)
			}
			checked += len(want)
		}
	}
	if checked == 0 {
		t.Fatal("no golden scenario restricts a service with remote-secrets")
	}
}

// exportInventory is a primary p with remotes r1, r2 and a service.
func exportInventory(t *testing.T, discovery, service string) *inventory.Inventory {
	t.Helper()
	src := `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  istio: {version: 1.28.2}
  discovery: ` + discovery + `
  recipients: [` + testOperator + `]
networks: [{name: n1}]
clusters:
  - {name: p, network: n1, apiServer: "https://192.0.2.9:6443", eastWestGateway: {address: 203.0.113.1}, recipients: [` + testCluster + `]}
  - {name: r1, network: n1, role: remote, primary: p, apiServer: "https://192.0.2.1:6443", eastWestGateway: {address: 203.0.113.2}, recipients: [` + testCluster + `]}
  - {name: r2, network: n1, role: remote, primary: p, apiServer: "https://192.0.2.2:6443", recipients: [` + testCluster + `]}
  - {name: q, network: n1, apiServer: "https://192.0.2.3:6443", eastWestGateway: {address: 203.0.113.3}, recipients: [` + testCluster + `]}
services:
` + service
	return loadValid(t, "inventory.yaml", []byte(src))
}

// TestExportRulesIstioCannotExpress: where one istiod serves a cluster
// outside exportTo and another that must reach the service elsewhere, no
// istiod setting does both; the inventory is rejected at the service's
// exportTo, and nothing is generated.
func TestExportRulesIstioCannotExpress(t *testing.T) {
	for _, tc := range []struct{ discovery, service, want string }{
		{"remote-secrets", "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [q], exportTo: [r1]}\n",
			"inventory.yaml:15:104: services[0].exportTo: istiod of p serves p, r1, r2: p, r2 may not call s.ns but r1 must reach it in other clusters, and Istio keeps a host cluster-local (meshConfig.serviceSettings) per istiod, not per cluster; export it to all of them or to none"},
		{"service-entries", "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [q], exportTo: [r1]}\n",
			"inventory.yaml:15:104: services[0].exportTo: istiod of p serves p, r1, r2: p, r2 may not call s.ns but r1 must reach it in other clusters, and Istio applies the ServiceEntries of a config cluster to every cluster its istiod serves; export it to all of them or to none"},
		{"service-entries", "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [r1]}\n",
			"inventory.yaml:15:90: services[0].clusters[0]: istiod of p serves p, r1, r2: with discovery service-entries the ServiceEntry of s.ns in p's config serves r1's local service, and p reads it for p, r2 too: they would either reach r1's pods as their own or through r1's east-west gateway, which would then forward the host to itself; export it from a primary without remotes, or use discovery remote-secrets (istiod p discovers r1's pods itself)"},
	} {
		inv := exportInventory(t, tc.discovery, tc.service)
		_, err := Generate(inv, testOptions(withCredentials(t, inv, nil)))
		var list inventory.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("%s: Generate: %v, want an inventory error", tc.discovery, err)
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.discovery, got, tc.want)
		}
	}
	// Expressible: the clusters outside exportTo share their istiod only
	// with the cluster that runs the service.
	inv := exportInventory(t, "remote-secrets", "  - {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [r1], exportTo: [r1]}\n")
	if _, err := Generate(inv, testOptions(withCredentials(t, inv, nil))); err != nil {
		t.Errorf("a remote's service exported to nobody else: %v", err)
	}
}

// TestMissingCredentialNamesCommand: a cluster an istiod must watch
// without a stored credential stops the run with the command to run.
func TestMissingCredentialNamesCommand(t *testing.T) {
	inv := exportInventory(t, "remote-secrets", "")
	_, err := Generate(inv, testOptions(nil))
	var me *secrets.MissingCredentialError
	if !errors.As(err, &me) {
		t.Fatalf("Generate: %v, want a MissingCredentialError", err)
	}
	for _, c := range []string{"r1", "r2", "q", "p"} {
		if !strings.Contains(err.Error(), "meshgen credentials set "+c+" --token-file TOKEN --ca-file CA") {
			t.Errorf("no command for %s in:\n%v", c, err)
		}
	}
}

package generator

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/inventory"
)

// ambientGatewayPath is where a cluster's ambient east-west Gateway is.
func ambientGatewayPath(cluster string) string {
	return "overlays/" + cluster + "/" + meshStage + "/" + ambientEastWestGatewayFile
}

// ambientTrees are the delivery trees with dataplane ambient; the test
// fails when there is none, so that the checks below cannot go idle.
func ambientTrees(t *testing.T) []deliveryTree {
	t.Helper()
	var out []deliveryTree
	for _, tr := range deliveryTrees(t) {
		if tr.inv.Mesh.Ambient() {
			out = append(out, tr)
		}
	}
	if len(out) == 0 {
		t.Fatal("no tree with dataplane ambient")
	}
	return out
}

// TestAmbientEastWestGatewayMatchesIstio compares every ambient east-west
// Gateway with what the pinned Istio's
// samples/multicluster/gen-eastwest-gateway.sh --ambient --network NET
// prints. meshgen adds only spec.addresses, and only where the inventory
// gives the gateway an IP address: istiod's gateway deployment writes it as
// the Service's loadBalancerIP.
func TestAmbientEastWestGatewayMatchesIstio(t *testing.T) {
	script := filepath.Join(filepath.Dir(filepath.Dir(istioCharts(t))), "samples", "multicluster", "gen-eastwest-gateway.sh")
	bash := testtools.Find(t, "bash")
	n := 0
	for _, tr := range ambientTrees(t) {
		for _, c := range tr.inv.Clusters {
			p := ambientGatewayPath(c.Name)
			data, ok := tr.files[p]
			if c.EastWestGateway == nil {
				if ok {
					t.Errorf("%s: %s without an eastWestGateway in the inventory", tr.name, p)
				}
				continue
			}
			if !ok {
				t.Errorf("%s: cluster %s has an eastWestGateway but no %s", tr.name, c.Name, p)
				continue
			}
			if _, sidecar := tr.files["overlays/"+c.Name+"/install/eastwest-gateway.yaml"]; sidecar {
				t.Errorf("%s: cluster %s has the sidecar east-west gateway IstioOperator too", tr.name, c.Name)
			}
			var got map[string]any
			if err := yaml.Unmarshal(data, &got); err != nil {
				t.Fatalf("%s: %s: %v", tr.name, p, err)
			}
			out, err := exec.Command(bash, script, "--ambient", "--network", c.Network).Output()
			if err != nil {
				t.Fatalf("gen-eastwest-gateway.sh --ambient --network %s: %v", c.Network, err)
			}
			var want map[string]any
			if err := yaml.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			spec := got["spec"].(map[string]any)
			addrs := spec["addresses"]
			delete(spec, "addresses")
			var wantAddrs any
			if inventory.IsIP(c.EastWestGateway.Address) {
				wantAddrs = []any{map[string]any{"type": "IPAddress", "value": c.EastWestGateway.Address}}
			}
			if !reflect.DeepEqual(addrs, wantAddrs) {
				t.Errorf("%s: %s: spec.addresses %v, want %v", tr.name, p, addrs, wantAddrs)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Errorf("%s: %s differs from gen-eastwest-gateway.sh --ambient --network %s:\n%s\nwant (besides spec.addresses):\n%s", tr.name, p, c.Network, g, w)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no ambient east-west Gateway compared")
	}
	t.Logf("%d ambient east-west Gateways equal Istio's", n)
}

// TestAmbientGatewayCRDSchema validates every ambient east-west Gateway
// against the Gateway API's Gateway CRD (v1.4.1, from the Go module pinned
// in tools/crds), as the API server would with strict field validation.
func TestAmbientGatewayCRDSchema(t *testing.T) {
	schemas := crdSchemas(t, "gateway.networking.k8s.io_gateways.yaml")
	n := 0
	for _, tr := range ambientTrees(t) {
		for _, c := range tr.inv.Clusters {
			p := ambientGatewayPath(c.Name)
			if data, ok := tr.files[p]; ok {
				n += validateDocs(t, tr.name+": "+p, data, "Gateway", schemas)
			}
		}
	}
	if n == 0 {
		t.Fatal("no ambient Gateway validated")
	}
	// The check can fail: a listener without its protocol, an address of
	// an unknown type, a field the schema lacks.
	good := "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: x, namespace: istio-system}\nspec:\n  gatewayClassName: istio-east-west\n  listeners: [{name: mesh, port: 15008, protocol: HBONE}]\n"
	for _, bad := range []string{
		strings.Replace(good, ", protocol: HBONE", "", 1),
		strings.Replace(good, "  listeners:", "  addresses: [{type: IPAdress, value: 203.0.113.10}]\n  listeners:", 1),
		strings.Replace(good, "protocol: HBONE}", "protocol: HBONE, tls: {mode: Terminate, option: {}}}", 1),
		strings.Replace(good, "port: 15008", "port: 150080", 1),
	} {
		ft := &testing.T{}
		done := make(chan struct{})
		go func() { defer close(done); validateDocs(ft, "bad", []byte(bad), "Gateway", schemas) }()
		<-done
		if !ft.Failed() {
			t.Errorf("schema accepted:\n%s", bad)
		}
	}
	ft := &testing.T{}
	done := make(chan struct{})
	go func() { defer close(done); validateDocs(ft, "good", []byte(good), "Gateway", schemas) }()
	<-done
	if ft.Failed() {
		t.Errorf("schema rejected:\n%s", good)
	}
}

// TestAmbientMeshStageHasNoSidecarObjects: an ambient overlay's mesh stage
// holds the east-west Gateway and remote secrets only. ztunnel reads no
// Istio networking objects (DestinationRules, ServiceEntries, the
// AUTO_PASSTHROUGH Gateway), and there are no remotes to expose istiod
// to; and the install stage runs no gateway chart.
func TestAmbientMeshStageHasNoSidecarObjects(t *testing.T) {
	for _, tr := range ambientTrees(t) {
		for _, p := range sortedKeys(tr.files) {
			if !strings.HasPrefix(p, "overlays/") || !strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, "kustomization.yaml") {
				continue
			}
			for _, doc := range splitDocs(tr.files[p]) {
				var obj struct {
					APIVersion string `json:"apiVersion"`
					Kind       string `json:"kind"`
					Spec       struct {
						Chart struct {
							Spec struct{ Chart string }
						}
					}
				}
				if err := yaml.Unmarshal(doc, &obj); err != nil {
					t.Fatalf("%s: %s: %v", tr.name, p, err)
				}
				switch {
				case strings.HasPrefix(obj.APIVersion, "networking.istio.io/"):
					t.Errorf("%s: %s: %s %s in an ambient tree", tr.name, p, obj.APIVersion, obj.Kind)
				case obj.Kind == "HelmRelease" && obj.Spec.Chart.Spec.Chart == "gateway":
					t.Errorf("%s: %s: a gateway chart release in an ambient tree", tr.name, p)
				}
			}
		}
	}
}

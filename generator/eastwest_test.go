package generator

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// TestEastWestGatewayMatchesIstio compares every east-west gateway
// IstioOperator of every tree with what Istio's own
// samples/multicluster/gen-eastwest-gateway.sh (of the pinned istio.io/istio
// module) emits for the same network and revision. meshgen adds only
// spec.tag (the pinned version) and metadata.namespace, and on a gateway
// port other than 15443 that port and its networking.istio.io/gatewayPort
// label.
func TestEastWestGatewayMatchesIstio(t *testing.T) {
	script := filepath.Join(filepath.Dir(filepath.Dir(istioCharts(t))), "samples", "multicluster", "gen-eastwest-gateway.sh")
	bash := testtools.Find(t, "bash")
	n := 0
	for _, tr := range deliveryTrees(t) {
		for _, c := range tr.inv.Clusters {
			p := "overlays/" + c.Name + "/install/eastwest-gateway.yaml"
			data, ok := tr.files[p]
			if !ok {
				continue
			}
			var got map[string]any
			if err := yaml.Unmarshal(data, &got); err != nil {
				t.Fatalf("%s: %s: %v", tr.name, p, err)
			}
			args := []string{script, "--network", c.Network}
			// With revisions, the gateway runs on the default tag's.
			def := tr.inv.Mesh.Istio.DefaultRevision()
			if r := def.Name; r != "" {
				args = append(args, "--revision", r)
			}
			out, err := exec.Command(bash, args...).Output()
			if err != nil {
				t.Fatalf("%s: %v", strings.Join(args, " "), err)
			}
			var want map[string]any
			if err := yaml.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			// The script always writes revision, empty without one.
			spec := want["spec"].(map[string]any)
			if spec["revision"] == "" {
				delete(spec, "revision")
			}
			// On another port than 15443 the gateway takes cross-network
			// mTLS there, labelled so that istiod finds it (the script
			// knows only 15443).
			if port := c.EastWestGateway.Port; port != 15443 {
				gw := spec["components"].(map[string]any)["ingressGateways"].([]any)[0].(map[string]any)
				gw["label"].(map[string]any)[gatewayPortLabel] = fmt.Sprint(port)
				for _, sp := range gw["k8s"].(map[string]any)["service"].(map[string]any)["ports"].([]any) {
					if sp := sp.(map[string]any); sp["name"] == "tls" {
						sp["port"] = float64(port)
					}
				}
			}
			gotSpec, _ := got["spec"].(map[string]any)
			if gotSpec["tag"] != def.Version {
				t.Errorf("%s: %s: spec.tag %v, want the pinned version %s", tr.name, p, gotSpec["tag"], def.Version)
			}
			delete(gotSpec, "tag")
			if md, _ := got["metadata"].(map[string]any); md["namespace"] == IstioNamespace {
				delete(md, "namespace")
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Errorf("%s: %s differs from gen-eastwest-gateway.sh --network %s:\n%s\nwant (besides tag and namespace):\n%s", tr.name, p, c.Network, g, w)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no east-west gateway IstioOperator in any tree")
	}
}

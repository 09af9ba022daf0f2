package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// istioCharts locates Istio's Helm charts: they ship inside the istio.io/istio
// module that the sim module pins (the same build the oracles use).
func istioCharts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("MESHGEN_ISTIO_CHARTS"); d != "" {
		return d
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/istio")
	cmd.Dir = filepath.Join(testtools.ModuleRoot(t), "sim")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "manifests", "charts")
	if err != nil || strings.TrimSpace(string(out)) == "" {
		if os.Getenv("CI") == "" {
			t.Skipf("Istio charts not found (run .ci/tools.sh): %v", err)
		}
		t.Fatalf("Istio charts not found: %v", err)
	}
	return dir
}

// TestHelmTemplate renders the istiod and gateway charts with the values of
// every generated HelmRelease and checks that they carry the same cluster
// name and network as the IstioOperator path.
func TestHelmTemplate(t *testing.T) {
	helm := testtools.Find(t, "helm")
	charts := istioCharts(t)
	ran := 0
	for _, sc := range loadScenarios(t) {
		if sc.inv.Mesh.Istio.Installer != "helm" {
			continue
		}
		dir, tree := writeScenario(t, sc)
		for _, c := range sc.inv.Clusters {
			f := tree.Get("overlays/" + c.Name + "/install/istio-helmreleases.yaml")
			if f == nil {
				t.Fatalf("%s: %s has no Helm releases", sc.file, c.Name)
			}
			for _, doc := range splitDocs(f.Data) {
				var hr HelmRelease
				if err := yaml.Unmarshal(doc, &hr); err != nil {
					t.Fatal(err)
				}
				if hr.Kind != "HelmRelease" {
					continue
				}
				values, err := yaml.Marshal(hr.Spec.Values)
				if err != nil {
					t.Fatal(err)
				}
				vf := filepath.Join(dir, c.Name+"-"+hr.Metadata.Name+".values.yaml")
				if err := os.WriteFile(vf, values, 0o644); err != nil {
					t.Fatal(err)
				}
				chart := map[string]string{
					"base":    "base",
					"istiod":  "istio-control/istio-discovery",
					"gateway": "gateway",
				}[hr.Spec.Chart.Spec.Chart]
				out := testtools.Run(t, dir, helm, "template", hr.Spec.ReleaseName, filepath.Join(charts, chart),
					"--namespace", "istio-system", "-f", vf)
				ran++
				what := sc.file + ": " + c.Name + ": " + hr.Metadata.Name
				switch hr.Spec.Chart.Spec.Chart {
				case "istiod":
					if c.Role == "primary" {
						wantEnv(t, what, out, "CLUSTER_ID", c.Name)
					} else if !strings.Contains(out, `"clusterName": "`+c.Name+`"`) {
						t.Errorf("%s: rendered remote values lack clusterName %s", what, c.Name)
					}
					if !strings.Contains(out, `"network": "`+c.Network+`"`) {
						t.Errorf("%s: rendered values lack network %s", what, c.Network)
					}
				case "gateway":
					wantEnv(t, what, out, "ISTIO_META_REQUESTED_NETWORK_VIEW", c.Network)
					if !regexp.MustCompile(`istio: "?eastwestgateway"?\n`).MatchString(out) {
						t.Errorf("%s: gateway lacks the eastwestgateway label", what)
					}
					wantGatewayPort(t, what, out, c.EastWestGateway.Port)
				}
			}
		}
	}
	if ran == 0 {
		t.Fatal("no Helm release rendered")
	}
}

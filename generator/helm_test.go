package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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

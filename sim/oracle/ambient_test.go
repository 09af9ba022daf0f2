package oracle

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAmbientFeaturesCoverPilot holds the simulation's table of pilot's
// ambient settings against the pinned pilot source: every setting
// registered through registerAmbient is in the table, with the default it
// takes when PILOT_ENABLE_AMBIENT=true, so an ambient istiod is simulated
// with the settings a real one starts with.
func TestAmbientFeaturesCoverPilot(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/istio").Output()
	if err != nil {
		t.Fatalf("go list -m istio.io/istio: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "pilot", "pkg", "features", "ambient.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// registerAmbient("NAME", withAmbient, withoutAmbient, ...) and the
	// same with the name on the next line.
	re := regexp.MustCompile(`registerAmbient(?:\[[^\]]*\])?\(\s*"([A-Z0-9_]+)",\s*([^,]+),`)
	calls := re.FindAllStringSubmatch(string(src), -1)
	if len(calls) < 10 {
		t.Fatalf("%s: found %d registerAmbient calls; has the source changed shape?", file, len(calls))
	}
	table := map[string]bool{}
	for _, f := range ambientFeatures {
		table[f.env] = f.withAmbient
	}
	seen := map[string]bool{}
	for _, c := range calls {
		name, def := c[1], strings.TrimSpace(c[2])
		seen[name] = true
		if v, ok := table[name]; ok {
			if want := def == "true"; v != want {
				t.Errorf("%s: pilot's default with ambient is %s, the table says %v", name, def, v)
			}
			continue
		}
		numeric := false
		for _, n := range ambientNumericFeatures {
			numeric = numeric || n == name
		}
		if !numeric {
			t.Errorf("%s (default %s with ambient) is not in the simulation's table of ambient settings", name, def)
		}
	}
	for name := range table {
		if !seen[name] {
			t.Errorf("%s is in the table but pilot no longer registers it through registerAmbient", name)
		}
	}
}

// TestAmbientFromIstioOperator simulates the ambient golden as istioctl
// installs it (installer istioctl): without the Helm releases, each istiod's
// values, ambient components and environment come from the IstioOperator
// file (profile ambient: istio-cni and ztunnel enabled, the chart profile
// ambient). The routes must hold as with Helm.
func TestAmbientFromIstioOperator(t *testing.T) {
	sc, tree := scenarioCopy(t, scenarios(t), "ambient-mp-two-networks")
	for _, c := range sc.inv.Clusters {
		drop(t, tree, "overlays/"+c.Name+"/install/istio-helmreleases.yaml")
	}
	w, err := newWorld(sc.inv, tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range w.order {
		c := w.clusters[name]
		if !c.ambient() || !c.cni || !c.ztunnel || c.env["AMBIENT_ENABLE_MULTI_NETWORK"] != "true" {
			t.Fatalf("%s from its IstioOperator: ambient %v, cni %v, ztunnel %v, env %v", name, c.ambient(), c.cni, c.ztunnel, c.env)
		}
	}
	holdAll(t, sc.inv, tree)
}

package fluxhealth

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestFluxPinsMatchKustomizeController keeps the Flux modules this package
// runs at the versions the pinned kustomize-controller (tools/crds/go.mod,
// whose Kustomization CRD the generated trees are validated against)
// requires, so the health the tests compute is that release's.
func TestFluxPinsMatchKustomizeController(t *testing.T) {
	data, err := os.ReadFile("../../tools/crds/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	crds, err := modfile.Parse("tools/crds/go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kc string
	for _, r := range crds.Require {
		if r.Mod.Path == "github.com/fluxcd/kustomize-controller" {
			kc = r.Mod.Version
		}
	}
	if kc == "" {
		t.Fatal("tools/crds/go.mod does not pin github.com/fluxcd/kustomize-controller")
	}
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/fluxcd/kustomize-controller@"+kc).Output()
	if err != nil {
		t.Fatalf("go mod download kustomize-controller@%s: %v", kc, err)
	}
	var dl struct{ GoMod string }
	if err := json.Unmarshal(out, &dl); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(dl.GoMod)
	if err != nil {
		t.Fatal(err)
	}
	kcMod, err := modfile.Parse(dl.GoMod, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range kcMod.Require {
		want[r.Mod.Path] = r.Mod.Version
	}
	// The versions the sim module's build selects.
	paths := []string{"github.com/fluxcd/pkg/runtime", "github.com/fluxcd/cli-utils", "github.com/fluxcd/pkg/apis/kustomize"}
	out, err = exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if p, v, ok := strings.Cut(l, " "); ok {
			got[p] = v
		}
	}
	for _, p := range paths {
		if want[p] == "" || got[p] != want[p] {
			t.Errorf("%s: sim builds %q, kustomize-controller %s requires %q", p, got[p], kc, want[p])
		}
	}
}

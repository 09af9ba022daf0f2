package fluxhealth

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/yaml"
)

// sailIstio is an Istio resource of generation 2 with the status the Sail
// operator (1.30) writes: observedGeneration, and the Reconciled, Ready
// and DependenciesHealthy conditions of its active IstioRevision.
func sailIstio(status string) map[string]any {
	doc := "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default, generation: 2}\nspec: {namespace: istio-system, version: v1.28.2}\n" + status
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		panic(err)
	}
	return m
}

// TestSailHealthChecks evaluates the health check of every Flux install
// stage of the Sail goldens on an Istio resource through its life: not
// current before the Sail operator has written a status, while istiod
// starts (Ready False) and after a spec change Sail has not seen, current
// once Ready is True for the current generation.
func TestSailHealthChecks(t *testing.T) {
	paths, err := filepath.Glob("../../generator/testdata/golden/sail*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Sail goldens: %v", err)
	}
	checked := 0
	for _, p := range paths {
		arch, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range arch.Files {
			if !strings.HasPrefix(f.Name, "flux/") {
				continue
			}
			for _, d := range strings.Split(string(f.Data), "\n---\n") {
				var ks struct {
					Metadata struct{ Name string }
					Spec     struct {
						Wait             bool
						HealthCheckExprs []Check `json:"healthCheckExprs"`
					}
				}
				if err := yaml.Unmarshal([]byte(d), &ks); err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(ks.Metadata.Name, "-install") {
					continue
				}
				var istio *Check
				for i, c := range ks.Spec.HealthCheckExprs {
					if strings.HasPrefix(c.APIVersion, "sailoperator.io/") && c.Kind == "Istio" {
						istio = &ks.Spec.HealthCheckExprs[i]
					}
				}
				if istio == nil || !ks.Spec.Wait {
					t.Errorf("%s: %s: install stage without wait and a health check for Sail's Istio", p, f.Name)
					continue
				}
				for _, tc := range []struct {
					name   string
					status string
					want   Status
				}{
					{"just applied, no status yet", "", Unknown},
					{"istiod starting", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'False', reason: IstiodNotReady}]}\n", InProgress},
					{"ready, but for the previous generation", "status: {observedGeneration: 1, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'True'}]}\n", InProgress},
					{"reconcile error", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'False'}, {type: Ready, status: Unknown}]}\n", InProgress},
					{"ready", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'True'}, {type: DependenciesHealthy, status: 'True'}]}\n", Current},
				} {
					got, err := Evaluate(*istio, sailIstio(tc.status))
					if err != nil {
						t.Fatalf("%s: %s: %v", p, f.Name, err)
					}
					if got != tc.want {
						t.Errorf("%s: %s: %s: Flux computes %s, want %s", p, f.Name, tc.name, got, tc.want)
					}
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Flux install stage of a Sail golden checked")
	}
	t.Logf("%d install stages' Sail health checks evaluated", checked)
}

// TestEvaluateLikeFlux keeps the evaluator honest on an expression of
// Flux's documentation (the SealedSecret example).
func TestEvaluateLikeFlux(t *testing.T) {
	check := Check{
		APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret",
		Failed:  "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
		Current: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
	}
	obj := func(s string) map[string]any {
		var m map[string]any
		if err := yaml.Unmarshal([]byte("metadata: {generation: 1}\nstatus: {conditions: [{type: Synced, status: '"+s+"'}]}\n"), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for s, want := range map[string]Status{"True": Current, "False": Failed} {
		if got, err := Evaluate(check, obj(s)); err != nil || got != want {
			t.Errorf("Synced %s: got %s, %v; want %s", s, got, err, want)
		}
	}
}

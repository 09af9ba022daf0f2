package fluxhealth

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/yaml"
)

// sailResource is a cluster-scoped Sail resource (Istio, IstioCNI or
// ZTunnel) of generation 2 with the status the Sail operator (1.30) writes:
// observedGeneration, and the Reconciled and Ready conditions (Istio adds
// DependenciesHealthy).
func sailResource(kind, status string) []byte {
	return []byte("apiVersion: sailoperator.io/v1\nkind: " + kind + "\nmetadata: {name: default, generation: 2}\nspec: {namespace: istio-system, version: v1.28.2}\n" + status)
}

// TestSailHealthChecks runs Flux's status poller with the health checks of
// every Flux install stage of the Sail goldens on each Sail resource the
// stage waits for, through its life: not current before the Sail operator
// has written a status, while the component starts (Ready False), after a
// spec change Sail has not seen yet, or on a reconcile error; current once
// Ready is True for the current generation.
func TestSailHealthChecks(t *testing.T) {
	paths, err := filepath.Glob("../../generator/testdata/golden/sail*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Sail goldens: %v", err)
	}
	stages, kinds := 0, map[string]int{}
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
				var sail []string
				for _, c := range ks.Spec.HealthCheckExprs {
					if strings.HasPrefix(c.APIVersion, "sailoperator.io/") {
						sail = append(sail, c.Kind)
					}
				}
				if !ks.Spec.Wait || len(sail) == 0 || sail[0] != "Istio" {
					t.Errorf("%s: %s: %s: install stage without wait and a health check for Sail's Istio (Sail kinds checked: %v)", p, f.Name, ks.Metadata.Name, sail)
					continue
				}
				for _, kind := range sail {
					for _, tc := range []struct {
						name   string
						status string
						want   status.Status
					}{
						{"just applied, no status yet", "", status.UnknownStatus},
						{"starting", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'False', reason: IstiodNotReady}]}\n", status.InProgressStatus},
						{"ready, but for the previous generation", "status: {observedGeneration: 1, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'True'}]}\n", status.InProgressStatus},
						{"reconcile error", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'False'}, {type: Ready, status: Unknown}]}\n", status.InProgressStatus},
						{"ready", "status: {observedGeneration: 2, conditions: [{type: Reconciled, status: 'True'}, {type: Ready, status: 'True'}, {type: DependenciesHealthy, status: 'True'}]}\n", status.CurrentStatus},
					} {
						got, err := Poll(ks.Spec.HealthCheckExprs, sailResource(kind, tc.status))
						if err != nil {
							t.Fatalf("%s: %s: %s: %v", p, f.Name, kind, err)
						}
						if got.Status != tc.want {
							t.Errorf("%s: %s: %s %s: Flux computes %s (%v), want %s", p, f.Name, kind, tc.name, got.Status, got.Err, tc.want)
						}
					}
					kinds[kind]++
				}
				stages++
			}
		}
	}
	if stages == 0 {
		t.Fatal("no Flux install stage of a Sail golden checked")
	}
	for _, k := range []string{"Istio", "IstioCNI", "ZTunnel"} {
		if kinds[k] == 0 {
			t.Errorf("no install stage waits for Sail's %s", k)
		}
	}
	t.Logf("%d install stages' Sail health checks polled (%v)", stages, kinds)
}

// TestPollLikeFlux checks the poller on the SealedSecret example of Flux's
// documentation, including the generic observedGeneration check Flux runs
// before any expression and an expression Flux refuses.
func TestPollLikeFlux(t *testing.T) {
	checks := []Check{{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret"}}
	checks[0].Failed = "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')"
	checks[0].Current = "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')"
	obj := func(gen int, s string) []byte {
		return []byte("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: apps, generation: 2}\nstatus: {observedGeneration: " + string(rune('0'+gen)) + ", conditions: [{type: Synced, status: '" + s + "'}]}\n")
	}
	for _, tc := range []struct {
		gen  int
		s    string
		want status.Status
	}{{2, "True", status.CurrentStatus}, {2, "False", status.FailedStatus}, {1, "True", status.InProgressStatus}} {
		if got, err := Poll(checks, obj(tc.gen, tc.s)); err != nil || got.Status != tc.want {
			t.Errorf("observedGeneration %d, Synced %s: got %s, %v; want %s", tc.gen, tc.s, got.Status, err, tc.want)
		}
	}
	bad := []Check{checks[0]}
	bad[0].Current = "status.conditions.exists(c, "
	if _, err := Poll(bad, obj(2, "True")); err == nil {
		t.Error("an expression that does not parse is accepted; kustomize-controller stalls on it")
	}
	// Other kinds are left to kstatus's own rules: a Secret is current.
	got, err := Poll(checks, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\n"))
	if err != nil || got.Status != status.CurrentStatus {
		t.Errorf("Secret: got %s, %v; want Current", got.Status, err)
	}
}

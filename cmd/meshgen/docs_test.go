package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// TestDocsExamples runs the documented workflow on every example inventory
// of docs/examples: store credentials where remote secrets need them,
// generate, validate, check, and build every overlay.
func TestDocsExamples(t *testing.T) {
	examples, err := filepath.Glob("../../docs/examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no docs/examples: %v", err)
	}
	env := keyEnv(t)
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			out := t.TempDir()
			run := func(args ...string) string {
				t.Helper()
				// The examples' recipients are the test-only keys of
				// testdata/age, as their first lines say.
				return mustMain(t, env, append(args, "--allow-test-keys")...)
			}
			src, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			inv, err := inventory.Load(ex, src)
			if err == nil {
				err = inv.Validate()
			}
			if err != nil {
				t.Fatal(err)
			}
			// Every cluster an istiod watches needs its stored credential.
			var watched []string
			for cluster := range topology.New(inv).Watched() {
				watched = append(watched, cluster)
			}
			sort.Strings(watched)
			for _, cluster := range watched {
				tok := filepath.Join(t.TempDir(), "token")
				ca := filepath.Join(t.TempDir(), "ca.crt")
				os.WriteFile(tok, []byte("test-only-token\n"), 0o600)
				pem, err := os.ReadFile("../../testdata/test-only-api-ca.pem")
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(ca, pem, 0o644)
				run("credentials", "set", cluster, "--token-file", tok, "--ca-file", ca, "-i", ex, "-o", out)
			}
			run("generate", "-i", ex, "-o", out)
			run("generate", "--check", "-i", ex, "-o", out)
			run("validate", "-i", ex, "-o", out)
			for _, c := range []string{"cluster1", "cluster2"} {
				if built := run("build", c, "-o", out); !strings.Contains(built, "kind: Namespace") {
					t.Errorf("build %s: no Namespace", c)
				}
			}
		})
	}
}

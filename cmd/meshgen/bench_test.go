package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshgen/meshgen/generator/fleet"
)

// benchmarkCheck measures `meshgen generate --check` on an up-to-date fleet
// tree: the pre-commit hook a platform team runs on every commit.
func benchmarkCheck(b *testing.B, s fleet.Spec) {
	dir := b.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(inv, fleet.Inventory(s), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if code := Main([]string{"generate", "--allow-test-keys", "-i", inv, "-o", out}, io.Discard, io.Discard, func(string) string { return "" }); code != 0 {
		b.Fatalf("generate: exit %d", code)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := Main([]string{"generate", "--check", "--allow-test-keys", "-i", inv, "-o", out}, io.Discard, io.Discard, func(string) string { return "" }); code != 0 {
			b.Fatalf("check: exit %d", code)
		}
	}
}

func BenchmarkCheckFleetM(b *testing.B) { benchmarkCheck(b, fleet.M) }
func BenchmarkCheckFleetL(b *testing.B) { benchmarkCheck(b, fleet.L) }

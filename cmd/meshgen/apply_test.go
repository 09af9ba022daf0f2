package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshgen/meshgen/generator"
)

// TestApplyStaysInside: apply writes nothing when any path of the plan
// would leave the output directory.
func TestApplyStaysInside(t *testing.T) {
	work := t.TempDir()
	out := filepath.Join(work, "out")
	for _, bad := range []string{"../escape.yaml", "/etc/escape.yaml", "overlays/../../escape.yaml"} {
		changes := []generator.Change{
			{Path: "overlays/a/kustomization.yaml", Op: 'A', New: []byte("a"), Mode: 0o644},
			{Path: bad, Op: 'A', New: []byte("x"), Mode: 0o644},
		}
		if err := apply(out, changes); err == nil {
			t.Errorf("apply accepted %q", bad)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("apply wrote into %s: %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(work, "escape.yaml")); !os.IsNotExist(err) {
		t.Errorf("apply wrote outside: %v", err)
	}
}

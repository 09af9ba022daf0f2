package pki

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// moduleRoot walks up from the package directory to go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// findTool locates an external binary: $env, then <module>/.bin, then PATH.
// Without it the test is skipped, unless CI is set, where it fails.
func findTool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if p := filepath.Join(moduleRoot(t), ".bin", name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " not found (set " + env + ", install it into <module>/.bin, or put it on PATH)"
	if os.Getenv("CI") == "" {
		t.Skip(msg)
	}
	t.Fatal(msg + "; CI is set, so this is an error")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

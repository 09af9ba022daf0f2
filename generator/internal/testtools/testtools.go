// Package testtools finds the real tools meshgen's tests check its output
// with (kustomize, istioctl, helm, sops, openssl), pinned and installed by
// .ci/tools.sh into <module>/.bin.
package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleRoot walks up from the working directory to go.mod.
func ModuleRoot(t testing.TB) string {
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

// Find locates a tool: $MESHGEN_<NAME>, then <module>/.bin, then PATH.
// Without it the test is skipped, unless CI is set, where it fails: CI
// must prove the output against the real tools.
func Find(t testing.TB, name string) string {
	t.Helper()
	env := "MESHGEN_" + strings.ToUpper(name)
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p := filepath.Join(ModuleRoot(t), ".bin", name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " not found (set " + env + ", run .ci/tools.sh, or put it on PATH)"
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

// Run runs a tool offline (KUBECONFIG=/dev/null) in dir and returns its
// combined output, failing the test on a non-zero exit.
func Run(t testing.TB, dir, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

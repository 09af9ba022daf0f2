package sops

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"
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

// testIdentity is one of the committed TEST ONLY identities.
type testIdentity struct {
	path      string // file under testdata/age, for SOPS_AGE_KEY_FILE
	identity  *age.X25519Identity
	recipient string
}

func loadTestIdentity(t testing.TB, name string) testIdentity {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "testdata", "age", "test-only-"+name+".agekey")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := parseIdentities(string(data))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	id := ids[0].(*age.X25519Identity)
	return testIdentity{path: p, identity: id, recipient: id.Recipient().String()}
}

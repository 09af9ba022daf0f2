package sops

import (
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// testIdentity is one of the committed TEST ONLY identities.
type testIdentity struct {
	path      string // file under testdata/age, for SOPS_AGE_KEY_FILE
	identity  *age.X25519Identity
	recipient string
}

func loadTestIdentity(t testing.TB, name string) testIdentity {
	t.Helper()
	p := filepath.Join(testtools.ModuleRoot(t), "testdata", "age", "test-only-"+name+".agekey")
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

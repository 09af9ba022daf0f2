package sops

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// TestVerifyAgreesWithSops changes every field of a file (each encrypted
// value's ciphertext, IV, tag and type, the MAC, lastmodified, each age
// stanza) and asks Verify and the real `sops --decrypt` about it with each
// identity: wherever sops refuses the file, Verify does too, and Verify
// refuses a corrupted stanza of the identity given even when sops could
// fall back to another.
func TestVerifyAgreesWithSops(t *testing.T) {
	bin := testtools.Find(t, "sops")
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	enc := encryptSecret(t, op.recipient, cl.recipient)
	corpus := testtools.Tampers(t, enc)
	if len(corpus) < 10 {
		t.Fatalf("only %d tampers", len(corpus))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "secret.sops.yaml")
	for _, tc := range corpus {
		if err := os.WriteFile(file, tc.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, id := range []testIdentity{op, cl} {
			name := fmt.Sprintf("%s, identity %s", tc.What, id.recipient[:12])
			cmd := exec.Command(bin, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", file)
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "SOPS_AGE_KEY_FILE=" + id.path}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_, sopsErr := cmd.Output()
			_, ours := Verify(tc.Data, []age.Identity{id.identity})
			switch {
			case sopsErr != nil && ours == nil:
				t.Errorf("%s: sops refuses the file (%v), Verify accepts it", name, sopsErr)
			case tc.StanzaOf == id.recipient && !errors.Is(ours, ErrStanza):
				t.Errorf("%s: Verify = %v, want ErrStanza", name, ours)
			case sopsErr == nil && ours != nil && tc.StanzaOf == "":
				t.Errorf("%s: sops accepts the file, Verify = %v", name, ours)
			}
		}
	}
	if _, err := Verify(enc, []age.Identity{op.identity}); err != nil {
		t.Fatalf("the untouched file: %v", err)
	}
	t.Logf("%d tampers × 2 identities: Verify refuses all that sops refuses", len(corpus))
}

package sops

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

var (
	encLineRE  = regexp.MustCompile(`(?m)^\s*([\w.-]+): ENC\[AES256_GCM,data:([^,]+),iv:([^,]+),tag:([^,]+),type:(str)\]$`)
	lastModRE  = regexp.MustCompile(`(?m)^\s*lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:(\d\d)Z"$`)
	stanzaBody = regexp.MustCompile(`(?s)-----BEGIN AGE ENCRYPTED FILE-----\n\s*([A-Za-z0-9+/=]+)\n.*?recipient: (age1[a-z0-9]+)`)
)

func flipAt(data []byte, i int) []byte {
	out := slices.Clone(data)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

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
	enc, err := Encrypt([]byte(secretYAML), EncryptOptions{
		Recipients: []string{op.recipient, cl.recipient}, EncryptedRegex: regexCAKey,
		MACOnlyEncrypted: true, Now: fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	type tamper struct {
		what     string
		stanzaOf string
		data     []byte
	}
	var corpus []tamper
	for _, m := range encLineRE.FindAllSubmatchIndex(enc, -1) {
		key := string(enc[m[2]:m[3]])
		for i, part := range []string{"ciphertext", "iv", "tag"} {
			at := 4 + 2*i
			corpus = append(corpus, tamper{what: key + " " + part, data: flipAt(enc, (m[at]+m[at+1])/2)})
		}
		corpus = append(corpus, tamper{what: key + " type", data: slices.Concat(enc[:m[10]], []byte("bytes"), enc[m[11]:])})
	}
	if m := lastModRE.FindSubmatchIndex(enc); m != nil {
		corpus = append(corpus, tamper{what: "lastmodified", data: slices.Concat(enc[:m[2]], []byte("59"), enc[m[3]:])})
	}
	for _, m := range stanzaBody.FindAllSubmatchIndex(enc, -1) {
		corpus = append(corpus, tamper{what: "stanza " + string(enc[m[4]:m[4]+12]), stanzaOf: string(enc[m[4]:m[5]]), data: flipAt(enc, (m[2]+m[3])/2)})
	}
	if len(corpus) < 10 {
		t.Fatalf("only %d tampers", len(corpus))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "secret.sops.yaml")
	for _, tc := range corpus {
		if err := os.WriteFile(file, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, id := range []testIdentity{op, cl} {
			name := fmt.Sprintf("%s, identity %s", tc.what, id.recipient[:12])
			cmd := exec.Command(bin, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", file)
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "SOPS_AGE_KEY_FILE=" + id.path}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_, sopsErr := cmd.Output()
			_, ours := Verify(tc.data, []age.Identity{id.identity})
			switch {
			case sopsErr != nil && ours == nil:
				t.Errorf("%s: sops refuses the file (%v), Verify accepts it", name, sopsErr)
			case tc.stanzaOf == id.recipient && !errors.Is(ours, ErrStanza):
				t.Errorf("%s: Verify = %v, want ErrStanza", name, ours)
			case sopsErr == nil && ours != nil && tc.stanzaOf == "":
				t.Errorf("%s: sops accepts the file, Verify = %v", name, ours)
			}
		}
	}
	if _, err := Verify(enc, []age.Identity{op.identity}); err != nil {
		t.Fatalf("the untouched file: %v", err)
	}
	t.Logf("%d tampers × 2 identities: Verify refuses all that sops refuses", len(corpus))
}

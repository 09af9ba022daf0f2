package sops

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// runSops runs the real sops binary in dir with a clean environment, so no
// user configuration or key leaks into the test.
func runSops(t *testing.T, bin, dir, keyFile string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if keyFile != "" {
		cmd.Env = append(cmd.Env, "SOPS_AGE_KEY_FILE="+keyFile)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

func TestSopsBinaryDecryptsOurs(t *testing.T) {
	bin := testtools.Find(t, "sops")
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	tests := []struct {
		name, plain, regex string
		macOnly            bool
	}{
		{"secret macOnly", secretYAML, regexCAKey, true},
		{"secret full MAC", secretYAML, regexCAKey, false},
		{"mixed default rules", mixedYAML, "", false},
		{"mixed all encrypted macOnly", mixedYAML, ".", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encrypt([]byte(tt.plain), EncryptOptions{
				Recipients: []string{op.recipient, cl.recipient}, EncryptedRegex: tt.regex,
				MACOnlyEncrypted: tt.macOnly, Now: fixedNow,
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			// Test-only data encrypted to test-only keys.
			file := filepath.Join(dir, "secret.sops.yaml")
			if err := os.WriteFile(file, enc, 0o600); err != nil {
				t.Fatal(err)
			}
			ours, err := Decrypt(enc, []age.Identity{op.identity})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []testIdentity{op, cl} {
				theirs := runSops(t, bin, dir, id.path, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", file)
				if !bytes.Equal(theirs, ours) {
					t.Errorf("sops --decrypt =\n%s\nDecrypt =\n%s", theirs, ours)
				}
			}
		})
	}
}

func TestDecryptSopsBinaryOutput(t *testing.T) {
	bin := testtools.Find(t, "sops")
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	tests := []struct {
		name, plain string
		args        []string
	}{
		{"secret regex macOnly", secretYAML, []string{"--encrypted-regex", regexCAKey, "--mac-only-encrypted"}},
		{"secret regex full MAC", secretYAML, []string{"--encrypted-regex", regexCAKey}},
		{"mixed default", mixedYAML, nil},
		{"mixed unencrypted-regex", mixedYAML, []string{"--unencrypted-regex", "^(name|list)$"}},
		{"mixed encrypted-suffix macOnly", mixedYAML, []string{"--encrypted-suffix", "ret", "--mac-only-encrypted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// Only test data is written; no key material.
			plainFile := filepath.Join(dir, "secret.yaml")
			if err := os.WriteFile(plainFile, []byte(tt.plain), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--encrypt", "--age", op.recipient + "," + cl.recipient}, tt.args...)
			enc := runSops(t, bin, dir, "", append(args, plainFile)...)

			encFile := filepath.Join(dir, "secret.sops.yaml")
			if err := os.WriteFile(encFile, enc, 0o600); err != nil {
				t.Fatal(err)
			}
			want := runSops(t, bin, dir, op.path, "--decrypt", encFile)
			for _, id := range []testIdentity{op, cl} {
				got, err := Decrypt(enc, []age.Identity{id.identity})
				if err != nil {
					t.Fatalf("Decrypt of sops output: %v\n%s", err, enc)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Decrypt =\n%s\nsops --decrypt =\n%s", got, want)
				}
			}

			// Our emitter writes sops' bytes: parse and re-emit is the identity.
			body, md, err := splitDocument(enc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := emitDocument(append(body, item{metadataKey, md.emit()}))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, enc) {
				t.Errorf("re-emitted sops file differs:\n%s\nsops wrote:\n%s", again, enc)
			}

			// Re-wrapping to one recipient keeps the file readable by sops.
			re, err := Reencrypt(enc, []age.Identity{op.identity}, ReencryptOptions{Recipients: []string{cl.recipient}})
			if err != nil {
				t.Fatal(err)
			}
			reFile := filepath.Join(dir, "re.sops.yaml")
			if err := os.WriteFile(reFile, re, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := runSops(t, bin, dir, cl.path, "--decrypt", reFile); !bytes.Equal(got, want) {
				t.Errorf("sops --decrypt after Reencrypt =\n%s", got)
			}
		})
	}
}

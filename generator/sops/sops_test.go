package sops

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"filippo.io/age"
)

// encodedSpans are the random parts of an encrypted file: ENC[...] values
// and armored age stanzas.
var encodedSpans = regexp.MustCompile(`ENC\[[^\]]*\]|(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----`)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// Test-only plaintext; nothing here is a real secret.
const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
  labels:
    app: meshgen
type: Opaque
stringData:
  ca-cert.pem: |
    -----BEGIN CERTIFICATE-----
    TESTONLYCERT
    -----END CERTIFICATE-----
  ca-key.pem: |
    TESTONLY placeholder for a private key
    TESTONLYKEYMATERIAL
  empty: ""
`

const mixedYAML = `name: mixed
count: 42
ratio: 1.5
enabled: true
nothing: null
created: !!timestamp 2024-05-06T07:08:09Z
list:
  - a
  - 2
  - false
nested:
  deeper:
    secret_unencrypted: visible
    secret: hidden
`

const regexCAKey = `^(ca-key\.pem|data|stringData)$`

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// normalize is what Decrypt should return for a plaintext input: the same
// tree, emitted the way sops emits it.
func normalize(t *testing.T, plain string) []byte {
	t.Helper()
	doc, err := parseDocument([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	out, err := emitDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	tests := []struct {
		name       string
		plain      string
		regex      string
		macOnly    bool
		wantPlain  []string // must stay readable in the encrypted file
		wantHidden []string // must not appear in the encrypted file
	}{
		{"secret regex macOnly", secretYAML, regexCAKey, true, []string{"name: cacerts", "app: meshgen"}, []string{"TESTONLY"}},
		{"secret regex full MAC", secretYAML, regexCAKey, false, []string{"name: cacerts"}, []string{"TESTONLY"}},
		{"secret only key", secretYAML, `^ca-key\.pem$`, true, []string{"TESTONLYCERT"}, []string{"TESTONLYKEYMATERIAL"}},
		{"mixed default rules", mixedYAML, "", false, []string{"secret_unencrypted: visible"}, []string{"hidden", "mixed"}},
		{"mixed all types encrypted", mixedYAML, ".", true, nil, []string{"hidden", "42", "1.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encrypt([]byte(tt.plain), EncryptOptions{
				Recipients:       []string{op.recipient, cl.recipient, op.recipient},
				EncryptedRegex:   tt.regex,
				MACOnlyEncrypted: tt.macOnly,
				Now:              fixedNow,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.wantPlain {
				if !bytes.Contains(enc, []byte(s)) {
					t.Errorf("encrypted file lacks plaintext %q", s)
				}
			}
			// Ciphertext and age stanzas are random base64, which may
			// contain a short plaintext such as "42" by chance.
			clear := encodedSpans.ReplaceAll(enc, nil)
			for _, s := range tt.wantHidden {
				if bytes.Contains(clear, []byte(s)) {
					t.Errorf("encrypted file contains %q in the clear", s)
				}
			}
			for _, id := range []testIdentity{op, cl} {
				got, err := Decrypt(enc, []age.Identity{id.identity})
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if want := normalize(t, tt.plain); !bytes.Equal(got, want) {
					t.Errorf("Decrypt =\n%s\nwant\n%s", got, want)
				}
			}
			md, err := ReadMetadata(enc)
			if err != nil {
				t.Fatal(err)
			}
			if len(md.Recipients) != 2 || md.MACOnlyEncrypted != tt.macOnly {
				t.Errorf("metadata = %+v", md)
			}
		})
	}
}

func TestEncryptDeterministic(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	enc := func(seed uint64, now time.Time) []byte {
		cryptotest.SetGlobalRandom(t, seed)
		out, err := Encrypt([]byte(secretYAML), EncryptOptions{
			Recipients: []string{op.recipient}, EncryptedRegex: regexCAKey,
			MACOnlyEncrypted: true, Now: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := enc(7, fixedNow), enc(7, fixedNow)
	if !bytes.Equal(a, b) {
		t.Fatal("the same global random and Now gave different bytes")
	}
	if bytes.Equal(a, enc(8, fixedNow)) {
		t.Error("a different global random gave the same bytes")
	}
	if bytes.Equal(a, enc(7, fixedNow.Add(time.Hour))) {
		t.Error("different Now gave the same bytes")
	}

	golden := filepath.Join("testdata", "cacerts.sops.yaml")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(a, want) {
		t.Errorf("output differs from %s (run go test -update if intended):\n%s", golden, a)
	}
}

func TestEncryptErrors(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	ok := EncryptOptions{Recipients: []string{op.recipient}, Now: fixedNow}
	tests := []struct {
		name  string
		plain string
		mod   func(*EncryptOptions)
		want  string
	}{
		{"no recipients", secretYAML, func(o *EncryptOptions) { o.Recipients = nil }, "no age recipients"},
		{"bad recipient", secretYAML, func(o *EncryptOptions) { o.Recipients = []string{"age1nope"} }, "not an age X25519 recipient"},
		{"no now", secretYAML, func(o *EncryptOptions) { o.Now = time.Time{} }, "Now is zero"},
		{"bad regex", secretYAML, func(o *EncryptOptions) { o.EncryptedRegex = "(" }, "EncryptedRegex"},
		{"already sops", "a: b\nsops: {}\n", nil, "already has a top-level sops key"},
		{"sequence doc", "- a\n", nil, "must be a mapping"},
		{"two docs", "a: b\n---\nc: d\n", nil, "exactly one YAML document"},
		{"empty", "", nil, "empty document"},
		{"duplicate key", "a: b\na: c\n", nil, `duplicate key "a"`},
		{"int key", "1: x\n", nil, "only string keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			if tt.mod != nil {
				tt.mod(&o)
			}
			_, err := Encrypt([]byte(tt.plain), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// encValueAt returns the ENC[...] string stored at a top-level key path.
func encValueAt(t *testing.T, file []byte, path ...string) string {
	t.Helper()
	body, _, err := splitDocument(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any = body
	for _, k := range path {
		v, _ = v.(mapping).get(k)
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v is %T", path, v)
	}
	return s
}

func TestTamper(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	encrypt := func(macOnly bool) []byte {
		out, err := Encrypt([]byte(secretYAML), EncryptOptions{
			Recipients: []string{op.recipient}, EncryptedRegex: `^ca-key\.pem$`,
			MACOnlyEncrypted: macOnly, Now: fixedNow,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	flipData := func(t *testing.T, f []byte) []byte {
		v := encValueAt(t, f, "stringData", "ca-key.pem")
		i := strings.Index(v, "data:") + len("data:")
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		return bytes.Replace(f, []byte(v), []byte(v[:i]+string(c)+v[i+1:]), 1)
	}
	tests := []struct {
		name    string
		macOnly bool
		tamper  func(t *testing.T, f []byte) []byte
		wantErr bool
	}{
		{"ciphertext changed", true, flipData, true},
		{"ciphertext changed full MAC", false, flipData, true},
		{"MAC changed", true, func(t *testing.T, f []byte) []byte {
			i := bytes.Index(f, []byte("mac: ENC[AES256_GCM,data:")) + len("mac: ENC[AES256_GCM,data:")
			f = bytes.Clone(f)
			f[i] ^= 'A' ^ 'B'
			return f
		}, true},
		{"lastmodified changed", true, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("2026-01-02T03:04:05Z"), []byte("2026-01-02T03:04:06Z"), 1)
		}, true},
		{"plaintext changed full MAC", false, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("TESTONLYCERT"), []byte("TESTONLYCERX"), 1)
		}, true},
		{"plaintext changed macOnly", true, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("name: cacerts"), []byte("name: prefix-cacerts"), 1)
		}, false},
		{"label added macOnly", true, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("app: meshgen"), []byte("app: meshgen\n        team: mesh"), 1)
		}, false},
		{"label added full MAC", false, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("app: meshgen"), []byte("app: meshgen\n        team: mesh"), 1)
		}, true},
		{"encrypted value moved to another key", true, func(t *testing.T, f []byte) []byte {
			return bytes.Replace(f, []byte("ca-key.pem: ENC"), []byte("ca-key2.pem: ENC"), 1)
		}, true},
		{"encrypted value removed", true, func(t *testing.T, f []byte) []byte {
			v := encValueAt(t, f, "stringData", "ca-key.pem")
			return bytes.Replace(f, []byte("ca-key.pem: "+v), []byte("ca-key.pem: \"\""), 1)
		}, true},
		{"encrypted value made plaintext", true, func(t *testing.T, f []byte) []byte {
			v := encValueAt(t, f, "stringData", "ca-key.pem")
			return bytes.Replace(f, []byte("ca-key.pem: "+v), []byte("ca-key.pem: 12"), 1)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := encrypt(tt.macOnly)
			f := tt.tamper(t, orig)
			if bytes.Equal(f, orig) {
				t.Fatal("tamper changed nothing")
			}
			_, err := Decrypt(f, []age.Identity{op.identity})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMACMismatch) || !strings.Contains(err.Error(), "MAC does not match") {
				t.Fatalf("err = %v, want a MAC mismatch", err)
			}
			if strings.Contains(err.Error(), "TESTONLY") || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Fatalf("error leaks secret material: %v", err)
			}
		})
	}
}

func TestDecryptWrongIdentity(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	enc, err := Encrypt([]byte(secretYAML), EncryptOptions{Recipients: []string{op.recipient}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for name, ids := range map[string][]age.Identity{"other identity": {other}, "no identity": nil} {
		t.Run(name, func(t *testing.T) {
			_, err := Decrypt(enc, ids)
			var nie *NoIdentityError
			if !errors.Is(err, ErrNoIdentity) || !errors.As(err, &nie) {
				t.Fatalf("err = %v, want ErrNoIdentity", err)
			}
			if !strings.Contains(err.Error(), op.recipient) || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Errorf("error should name the recipient and no key: %v", err)
			}
		})
	}
}

func TestDecryptNotSops(t *testing.T) {
	_, err := Decrypt([]byte(secretYAML), nil)
	if !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("err = %v, want ErrNotEncrypted", err)
	}
}

func TestReencrypt(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	orig := encryptSecret(t, op.recipient)
	re, err := Reencrypt(orig, []age.Identity{op.identity}, ReencryptOptions{
		Recipients: []string{cl.recipient, op.recipient}})
	if err != nil {
		t.Fatal(err)
	}
	// Everything before the sops key, and the MAC and lastmodified, are unchanged.
	before := func(f []byte) string { return string(f[:bytes.Index(f, []byte("\nsops:\n"))]) }
	if before(orig) != before(re) {
		t.Errorf("encrypted values changed:\n%s\n---\n%s", before(orig), before(re))
	}
	mo, _ := splitDocumentMeta(t, orig)
	mr, _ := splitDocumentMeta(t, re)
	if mo.mac != mr.mac || !mo.LastModified.Equal(mr.LastModified) {
		t.Error("MAC or lastmodified changed")
	}
	if want := []string{op.recipient, cl.recipient}; strings.Join(mr.Recipients, ",") != strings.Join(sortedCopy(want), ",") {
		t.Errorf("recipients = %v", mr.Recipients)
	}
	got, err := Decrypt(re, []age.Identity{cl.identity})
	if err != nil {
		t.Fatalf("new recipient cannot decrypt: %v", err)
	}
	if !bytes.Equal(got, normalize(t, secretYAML)) {
		t.Error("plaintext changed")
	}

	same, err := Reencrypt(re, []age.Identity{cl.identity}, ReencryptOptions{Recipients: []string{op.recipient, cl.recipient}})
	if err != nil || !bytes.Equal(same, re) {
		t.Errorf("unchanged recipients should return the input unchanged (err %v)", err)
	}
	if _, err := Reencrypt(re, nil, ReencryptOptions{Recipients: []string{op.recipient}}); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("without identity: err = %v", err)
	}
	tampered := bytes.Replace(orig, []byte("2026-01-02T03:04:05Z"), []byte("2026-01-02T03:04:06Z"), 1)
	if _, err := Reencrypt(tampered, []age.Identity{op.identity}, ReencryptOptions{Recipients: []string{cl.recipient}}); !errors.Is(err, ErrMACMismatch) {
		t.Errorf("tampered: err = %v", err)
	}
}

func splitDocumentMeta(t *testing.T, f []byte) (*fileMeta, mapping) {
	t.Helper()
	body, md, err := splitDocument(f)
	if err != nil {
		t.Fatal(err)
	}
	return md, body
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// encryptSecret encrypts secretYAML to recipients as meshgen encrypts its
// secrets: the values regexCAKey selects, the MAC over encrypted values
// only, at fixedNow.
func encryptSecret(t *testing.T, recipients ...string) []byte {
	t.Helper()
	enc, err := Encrypt([]byte(secretYAML), EncryptOptions{
		Recipients: recipients, EncryptedRegex: regexCAKey,
		MACOnlyEncrypted: true, Now: fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestReadMetadata(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	cl := loadTestIdentity(t, "cluster")
	enc := encryptSecret(t, op.recipient, cl.recipient)
	md, err := ReadMetadata(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{
		Recipients:       sortedCopy([]string{op.recipient, cl.recipient}),
		LastModified:     fixedNow,
		EncryptedRegex:   regexCAKey,
		MACOnlyEncrypted: true,
		Version:          FormatVersion,
	}
	if strings.Join(md.Recipients, ",") != strings.Join(want.Recipients, ",") ||
		!md.LastModified.Equal(want.LastModified) || md.EncryptedRegex != want.EncryptedRegex ||
		md.MACOnlyEncrypted != want.MACOnlyEncrypted || md.Version != want.Version || md.UnencryptedSuffix != "" {
		t.Errorf("ReadMetadata = %+v\nwant %+v", *md, want)
	}
	if _, err := ReadMetadata([]byte("a: b\n")); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("plain file: err = %v", err)
	}
}

func TestIdentitiesFromEnv(t *testing.T) {
	op := loadTestIdentity(t, "operator")
	opFile, err := os.ReadFile(op.path)
	if err != nil {
		t.Fatal(err)
	}
	cl := loadTestIdentity(t, "cluster")
	clKey := cl.identity.String()
	// A malformed identity: the test-only one with its last character (part
	// of the checksum) changed.
	last := byte('Q')
	if clKey[len(clKey)-1] == last {
		last = 'P'
	}
	badKey := clKey[:len(clKey)-1] + string(last)
	files := map[string][]byte{"/keys/op.txt": opFile, "/keys/bad.txt": []byte("# comment\n" + badKey + "\n")}
	readFile := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    int
		wantErr string
	}{
		{"none", nil, 0, ""},
		{"file", map[string]string{"SOPS_AGE_KEY_FILE": "/keys/op.txt"}, 1, ""},
		{"key", map[string]string{"SOPS_AGE_KEY": clKey}, 1, ""},
		{"both", map[string]string{"SOPS_AGE_KEY_FILE": "/keys/op.txt", "SOPS_AGE_KEY": "# x\n" + clKey + "\n"}, 2, ""},
		{"missing file", map[string]string{"SOPS_AGE_KEY_FILE": "/keys/nope"}, 0, "SOPS_AGE_KEY_FILE"},
		{"malformed in file", map[string]string{"SOPS_AGE_KEY_FILE": "/keys/bad.txt"}, 0, "line 2: malformed age identity"},
		{"malformed in env", map[string]string{"SOPS_AGE_KEY": badKey}, 0, "SOPS_AGE_KEY: line 1: malformed age identity"},
		{"not a key", map[string]string{"SOPS_AGE_KEY": "hunter2"}, 0, "line 1: not an age identity"},
		{"only comments", map[string]string{"SOPS_AGE_KEY": "# nothing\n"}, 0, "no age identities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := IdentitiesFromEnv(func(k string) string { return tt.env[k] }, readFile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				for _, secret := range []string{badKey, "hunter2", clKey} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error echoes key material: %v", err)
					}
				}
				return
			}
			if err != nil || len(ids) != tt.want {
				t.Fatalf("got %d identities, err %v; want %d", len(ids), err, tt.want)
			}
		})
	}
}

func FuzzDecrypt(f *testing.F) {
	op := loadTestIdentity(f, "operator")
	for _, macOnly := range []bool{true, false} {
		enc, err := Encrypt([]byte(mixedYAML), EncryptOptions{Recipients: []string{op.recipient}, MACOnlyEncrypted: macOnly, Now: fixedNow})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte("sops:\n  age: []\n"))
	f.Add([]byte("a: &x [*x]\nsops: 1\n"))
	f.Add([]byte("a: ENC[AES256_GCM,data:,iv:,tag:,type:str]\nsops:\n  lastmodified: \"2020-01-01T00:00:00Z\"\n"))
	ids := []age.Identity{op.identity}
	f.Fuzz(func(t *testing.T, data []byte) {
		if out, err := Decrypt(data, ids); err == nil && len(out) == 0 {
			t.Error("Decrypt succeeded with empty output")
		}
		_, _ = ReadMetadata(data)
	})
}

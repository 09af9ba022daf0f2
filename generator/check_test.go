package generator

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
)

func TestCheckClean(t *testing.T) {
	inv := pkiInventory(t, 3, "ecdsa-p256")
	opts := pkiOptions(nil)
	opts.TrustedRoots = [][]byte{otherRoot(t).CertPEM} // a two-root bundle is clean too
	files := mustGenerate(t, inv, opts).Map()
	for _, ids := range []struct {
		name string
		ids  []age.Identity
	}{
		{"no identity", nil},
		{"operator", ageIdentities(t, "operator")},
		// The cluster key opens every cacerts but not the root key, which
		// is then not decrypted: no finding.
		{"cluster", ageIdentities(t, "cluster")},
	} {
		if got := Check(inv, files, ids.ids, testNow); len(got) > 0 {
			t.Errorf("%s: findings on a fresh tree:\n%s", ids.name, findingsText(got))
		}
	}
}

func TestCheckFindings(t *testing.T) {
	inv := pkiInventory(t, 3, "ecdsa-p256")
	clean := mustGenerate(t, inv, pkiOptions(nil))
	op := ageIdentities(t, "operator")
	a, b, c := cacertsPathOf("c001"), cacertsPathOf("c002"), cacertsPathOf("c003")
	cert := intermediateOf(t, clean, "c001", op).Cert
	foreign := mustGenerate(t, inv, pkiOptions(nil)) // another root, other intermediates

	tests := []struct {
		name   string
		ids    []age.Identity
		now    time.Time
		inv    func(*inventory.Inventory)
		tamper func(files map[string][]byte)
		want   []string // "PATH: MSG" regexps, in order
	}{
		{
			name:   "encrypted value changed",
			ids:    op,
			tamper: func(f map[string][]byte) { f[a] = flipEncrypted(t, f[a]) },
			want:   []string{a + `: cannot be decrypted: sops: stringData.ca-key.pem: value failed authentication: MAC does not match`},
		},
		{
			name:   "encrypted value changed, no identity to notice",
			tamper: func(f map[string][]byte) { f[a] = flipEncrypted(t, f[a]) },
		},
		{
			name:   "certificate swapped for another cluster's",
			ids:    op,
			tamper: func(f map[string][]byte) { f[a] = setField(t, f[a], "ca-cert.pem", publicData(t, f[b])["ca-cert.pem"]) },
			want: []string{
				a + `: cert-chain.pem is not ca-cert.pem followed by the signing root in pki/root-cert.pem`,
				a + `: ca-key.pem: private key does not match the certificate`,
			},
		},
		{
			name:   "certificate from another root",
			tamper: func(f map[string][]byte) { f[a] = foreign.Get(a).Data },
			want: []string{
				a + `: ca-cert.pem does not chain to the signing root in pki/root-cert.pem: x509: .*`,
				a + `: cert-chain.pem is not ca-cert.pem followed by the signing root`,
				a + `: root-cert.pem differs from pki/root-cert.pem`,
			},
		},
		{
			name:   "cluster file missing",
			tamper: func(f map[string][]byte) { delete(f, c) },
			want:   []string{c + `: missing`},
		},
		{
			name:   "root key missing",
			tamper: func(f map[string][]byte) { delete(f, RootCAPath) },
			want:   []string{RootCAPath + `: missing`},
		},
		{
			name:   "root certificate replaced",
			ids:    op,
			tamper: func(f map[string][]byte) { f[RootCertPath] = foreign.Get(RootCertPath).Data },
			want: []string{
				a + `: ca-cert.pem does not chain to the signing root`, a + `: cert-chain.pem is not`, a + `: root-cert.pem differs`,
				b + `: ca-cert.pem does not chain to the signing root`, b + `: cert-chain.pem is not`, b + `: root-cert.pem differs`,
				c + `: ca-cert.pem does not chain to the signing root`, c + `: cert-chain.pem is not`, c + `: root-cert.pem differs`,
				RootCAPath + `: ca-cert.pem is not the signing root in pki/root-cert.pem`,
				RootCAPath + `: ca-key.pem: private key does not match the certificate`,
			},
		},
		{
			name:   "not a SOPS file",
			tamper: func(f map[string][]byte) { f[b] = []byte(Header + "apiVersion: v1\nkind: Secret\n") },
			want:   []string{b + `: not a SOPS file: no top-level sops key`},
		},
		{
			name: "within renewBefore",
			now:  cert.NotAfter.Add(-24 * time.Hour),
			want: []string{
				a + `: ca-cert.pem expires \d{4}-\d\d-\d\d, within renewBefore 720h; the next generate re-issues it`,
				b + `: ca-cert.pem expires .*, within renewBefore 720h`,
				c + `: ca-cert.pem expires .*, within renewBefore 720h`,
			},
		},
		{
			name: "expired",
			now:  cert.NotAfter.Add(365 * 24 * time.Hour),
			want: []string{
				a + `: ca-cert.pem expired ` + cert.NotAfter.UTC().Format(time.DateOnly),
				b + `: ca-cert.pem expired`,
				c + `: ca-cert.pem expired`,
			},
		},
		{
			name: "recipients changed in the inventory",
			// c002's recipients stay the same set: the operators' and its own.
			inv: func(inv *inventory.Inventory) {
				inv.Clusters[1].Recipients = []string{testOperatorRecipient}
				inv.Mesh.Recipients = []string{testClusterRecipient}
			},
			want: []string{
				a + `: recipients differ from the cluster's and the operators' in the inventory: also encrypted to ` + testOperatorRecipient,
				c + `: recipients differ .*: also encrypted to ` + testOperatorRecipient,
				RootCAPath + `: recipients differ from the operators in the inventory: not encrypted to ` + testClusterRecipient + `; also encrypted to ` + testOperatorRecipient,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := pkiInventory(t, 3, "ecdsa-p256")
			if tt.inv != nil {
				tt.inv(inv)
			}
			files := clean.Map()
			if tt.tamper != nil {
				tt.tamper(files)
			}
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			got := Check(inv, files, tt.ids, now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tt.want), findingsText(got))
			}
			for i, f := range got {
				if !regexp.MustCompile("^" + tt.want[i]).MatchString(f.Path + ": " + f.Msg) {
					t.Errorf("finding %d = %q, want %q", i, f, tt.want[i])
				}
				checkPosition(t, f, files[f.Path])
				assertNoSecret(t, f, clean, op)
			}
		})
	}
}

// checkPosition: a finding about one key of a file points at that key
// (the first word of its message, or sops.age for recipients), and its
// String is file:line:col: msg.
func checkPosition(t *testing.T, f Finding, data []byte) {
	t.Helper()
	if f.Line == 0 {
		if strings.HasPrefix(f.Msg, "ca-") || strings.HasPrefix(f.Msg, "cert-chain") || strings.HasPrefix(f.Msg, "root-cert") {
			t.Errorf("%s: no position for a finding about one key", f)
		}
		return
	}
	key, _, _ := strings.Cut(strings.TrimPrefix(f.Msg, "decrypted "), " ")
	key = strings.TrimSuffix(key, ":")
	if strings.HasPrefix(f.Msg, "recipients ") {
		key = "age"
	}
	lines := strings.Split(string(data), "\n")
	if f.Line > len(lines) || f.Col < 1 || f.Col > len(lines[f.Line-1]) || !strings.HasPrefix(lines[f.Line-1][f.Col-1:], key+":") {
		t.Errorf("%s: the position does not point at key %s", f, key)
	}
	if want := fmt.Sprintf("%s:%d:%d: %s", f.Path, f.Line, f.Col, f.Msg); f.String() != want {
		t.Errorf("String() = %q, want %q", f.String(), want)
	}
}

// flipEncrypted changes one character inside the data of the ca-key.pem
// ENC[...] value, leaving it well-formed.
func flipEncrypted(t *testing.T, data []byte) []byte {
	t.Helper()
	enc := publicData(t, data)["ca-key.pem"]
	i := strings.Index(enc, "data:") + len("data:") + 10
	if !strings.HasPrefix(enc, "ENC[") || i >= len(enc) {
		t.Fatalf("ca-key.pem is not an ENC value")
	}
	flipped := []byte(enc)
	if flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}
	out := bytes.Replace(data, []byte(enc), flipped, 1)
	if bytes.Equal(out, data) {
		t.Fatal("tampering changed nothing")
	}
	return out
}

// setField rewrites one plaintext stringData value of a SOPS secret. The
// MAC covers only encrypted values, so the file still decrypts.
func setField(t *testing.T, data []byte, key, value string) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["stringData"].(map[string]any)[key] = value
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(Header), out...)
}

// assertNoSecret fails if a finding quotes a private key, in plaintext or
// encrypted.
func assertNoSecret(t *testing.T, f Finding, tree *Tree, ids []age.Identity) {
	t.Helper()
	for _, file := range tree.Files {
		if !file.Secret {
			continue
		}
		enc := publicData(t, file.Data)["ca-key.pem"]
		plain := openSecret(t, file.Data, ids)["ca-key.pem"]
		for _, s := range []string{enc, plain, pemBody(plain)} {
			if len(s) > 20 && strings.Contains(f.Msg, s[:20]) {
				t.Errorf("finding %q quotes the key of %s", f, file.Path)
			}
		}
	}
	if strings.Contains(f.Msg, "PRIVATE KEY") || strings.Contains(f.Msg, "ENC[") {
		t.Errorf("finding %q quotes secret material", f)
	}
}

// pemBody is the base64 of a PEM block, without the armor lines.
func pemBody(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) < 3 {
		return ""
	}
	return strings.Join(lines[1:len(lines)-1], "")
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintln(&b, f)
	}
	return b.String()
}

func otherRoot(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewRoot(pki.RootRequest{CommonName: "Other Root", Organization: "example", NotBefore: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

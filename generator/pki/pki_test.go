package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/cloudflare/cfssl/csr"
	"github.com/cloudflare/cfssl/initca"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

const day = 24 * time.Hour

var (
	rootOnce sync.Once
	rootCA   *CA
)

// testRoot is a shared ecdsa-p256 root for tests that do not care.
func testRoot(t testing.TB) *CA {
	t.Helper()
	rootOnce.Do(func() {
		var err error
		rootCA, err = NewRoot(RootRequest{CommonName: "meshgen test root", Organization: "meshgen-test", NotBefore: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	})
	return rootCA
}

// opensslVerify checks ca against root with the real openssl, as Istio's
// docs do. Only public certificates are written to disk.
func opensslVerify(t *testing.T, roots []*CA, ca *CA, chainRoot *CA) {
	t.Helper()
	bin := testtools.Find(t, "openssl")
	dir := t.TempDir()
	var bundle []byte
	for _, r := range roots {
		bundle = append(bundle, r.CertPEM...)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rootFile := write("root-cert.pem", bundle)
	chainFile := write("cert-chain.pem", append(append([]byte{}, ca.CertPEM...), chainRoot.CertPEM...))
	caFile := write("ca-cert.pem", ca.CertPEM)
	out, err := exec.Command(bin, "verify", "-CAfile", rootFile, "-untrusted", chainFile, caFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ca-cert.pem: OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	text, err := exec.Command(bin, "x509", "-in", caFile, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, text)
	}
	for _, want := range []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Digital Signature", "DNS:istiod.istio-system.svc"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("openssl x509 -text lacks %q", want)
		}
	}
}

func TestAlgorithms(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			root, err := NewRoot(RootRequest{CommonName: "root " + string(alg), Organization: "meshgen-test", Algorithm: alg, Validity: 3650 * day, NotBefore: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if got := AlgorithmOf(root.Cert); got != alg {
				t.Errorf("root algorithm = %q", got)
			}
			if !root.Cert.IsCA || root.Cert.Subject.CommonName != "root "+string(alg) {
				t.Errorf("root: IsCA %v, subject %v", root.Cert.IsCA, root.Cert.Subject)
			}
			now := time.Now().Truncate(time.Second)
			req := IntermediateRequest{Cluster: "east-1", Organization: "acme", Algorithm: alg, Validity: 365 * day, NotBefore: now}
			ca, err := IssueIntermediate(root, req)
			if err != nil {
				t.Fatal(err)
			}
			c := ca.Cert
			if got := AlgorithmOf(c); got != alg {
				t.Errorf("intermediate algorithm = %q", got)
			}
			if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
				t.Errorf("constraints: IsCA %v MaxPathLen %d zero %v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
			}
			if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
				t.Errorf("key usage = %v, want %v", c.KeyUsage, want)
			}
			if len(c.ExtKeyUsage) != 0 {
				t.Errorf("unexpected ext key usage %v", c.ExtKeyUsage)
			}
			if s := c.Subject; s.CommonName != "Intermediate CA" || fmt.Sprint(s.Organization) != "[acme]" || fmt.Sprint(s.Locality) != "[east-1]" {
				t.Errorf("subject = %v", s)
			}
			if fmt.Sprint(c.DNSNames) != "[istiod.istio-system.svc]" {
				t.Errorf("DNS SANs = %v", c.DNSNames)
			}
			if !c.NotBefore.Equal(now) || !c.NotAfter.Equal(now.Add(365*day)) {
				t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, now, now.Add(365*day))
			}
			if err := Verify([]*x509.Certificate{root.Cert}, ca); err != nil {
				t.Error(err)
			}
			if r := ReissueReason(c, root.Cert, req, 30*day, now); r != "" {
				t.Errorf("fresh intermediate: ReissueReason = %q", r)
			}
			opensslVerify(t, []*CA{root}, ca, root)
		})
	}
}

func TestIssueIntermediateErrors(t *testing.T) {
	root := testRoot(t)
	now := time.Now()
	ok := IntermediateRequest{Cluster: "c", Organization: "o", NotBefore: now}
	tests := []struct {
		name string
		root *CA
		mod  func(*IntermediateRequest)
		want string
	}{
		{"no root", nil, nil, "no root CA"},
		{"no cluster", root, func(r *IntermediateRequest) { r.Cluster = "" }, "Cluster is empty"},
		{"no org", root, func(r *IntermediateRequest) { r.Organization = "" }, "Organization is empty"},
		{"no clock", root, func(r *IntermediateRequest) { r.NotBefore = time.Time{} }, "NotBefore is zero"},
		{"bad algorithm", root, func(r *IntermediateRequest) { r.Algorithm = "dsa-1024" }, `unknown key algorithm "dsa-1024"`},
		{"after root expiry", root, func(r *IntermediateRequest) { r.NotBefore = root.Cert.NotAfter.Add(day) }, "before the intermediate would start"},
		{"bad root key", &CA{Cert: root.Cert, CertPEM: root.CertPEM, KeyPEM: garbageKeyPEM("EC PRIVATE KEY")}, nil, "root key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			if tt.mod != nil {
				tt.mod(&req)
			}
			_, err := IssueIntermediate(tt.root, req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
}

func TestValidityCappedAtRoot(t *testing.T) {
	root, err := NewRoot(RootRequest{CommonName: "short root", Validity: 48 * time.Hour, NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	req := IntermediateRequest{Cluster: "c", Organization: "o", Validity: 365 * day, NotBefore: time.Now()}
	ca, err := IssueIntermediate(root, req)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the root's %v", ca.Cert.NotAfter, root.Cert.NotAfter)
	}
	if r := ReissueReason(ca.Cert, root.Cert, req, time.Hour, req.NotBefore); r != "" {
		t.Errorf("capped intermediate should be kept, got %q", r)
	}
}

// selfSigned makes a certificate with the standard library, for import
// cases cfssl would refuse to create.
func selfSigned(t *testing.T, isCA bool, pathLenZero bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "byo"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(day),
		BasicConstraintsValid: true, IsCA: isCA, MaxPathLenZero: pathLenZero,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestImportRoot(t *testing.T) {
	// An existing root made by cfssl, as an operator would bring it.
	certPEM, _, keyPEM, err := initca.New(&csr.CertificateRequest{
		CN: "acme corp root", Names: []csr.Name{{O: "acme"}},
		KeyRequest: &csr.KeyRequest{A: "rsa", S: 2048}, CA: &csr.CAConfig{Expiry: "87600h", PathLength: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := ImportRoot(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := IssueIntermediate(root, IntermediateRequest{Cluster: "west", Organization: "acme", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify([]*x509.Certificate{root.Cert}, ca); err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, []*CA{root}, ca, root)

	otherCert, otherKey := selfSigned(t, true, false)
	if _, err := ImportRoot(otherCert, otherKey); err != nil {
		t.Errorf("PKCS #8 stdlib root: %v", err)
	}
	leafCert, leafKey := selfSigned(t, false, false)
	zeroCert, zeroKey := selfSigned(t, true, true)
	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"key of another root", certPEM, otherKey, "private key does not match"},
		{"not a CA", leafCert, leafKey, "not a CA"},
		{"pathlen 0", zeroCert, zeroKey, "cannot sign intermediate CAs"},
		{"intermediate as root", ca.CertPEM, ca.KeyPEM, "cannot sign intermediate CAs"},
		{"garbage key", certPEM, garbageKeyPEM("PRIVATE KEY"), "not a PKCS #1, PKCS #8 or SEC 1 key"},
		{"key not PEM", certPEM, []byte("secret-material"), "not PEM"},
		{"cert not PEM", []byte("nope"), keyPEM, "no PEM CERTIFICATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ImportRoot(tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for _, leak := range []string{"c2VjcmV0", "secret-material", "PRIVATE KEY"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error leaks key material: %v", err)
				}
			}
		})
	}
}

func TestTwoRootBundle(t *testing.T) {
	oldRoot := testRoot(t)
	newRoot, err := NewRoot(RootRequest{CommonName: "meshgen test root 2", Organization: "meshgen-test", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := IssueIntermediate(newRoot, IntermediateRequest{Cluster: "c", Organization: "o", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bundle := []*x509.Certificate{oldRoot.Cert, newRoot.Cert}
	if err := Verify(bundle, ca); err != nil {
		t.Errorf("bundle old+new: %v", err)
	}
	if err := Verify([]*x509.Certificate{oldRoot.Cert}, ca); err == nil {
		t.Error("old root alone verified an intermediate of the new root")
	}
	opensslVerify(t, []*CA{oldRoot, newRoot}, ca, newRoot)
	if r := ReissueReason(ca.Cert, oldRoot.Cert, IntermediateRequest{Cluster: "c", Organization: "o"}, 0, time.Now()); r != "signed by a different root" {
		t.Errorf("ReissueReason against old root = %q", r)
	}
}

func TestVerifyErrors(t *testing.T) {
	root := testRoot(t)
	ca, err := IssueIntermediate(root, IntermediateRequest{Cluster: "c", Organization: "o", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	other, err := IssueIntermediate(root, IntermediateRequest{Cluster: "d", Organization: "o", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{root.Cert}
	tests := []struct {
		name string
		ca   *CA
		want string
	}{
		{"key swapped", &CA{CertPEM: ca.CertPEM, KeyPEM: other.KeyPEM, Cert: ca.Cert}, "private key does not match"},
		{"root is not pathlen 0", root, "does not have pathlen 0"},
		{"PEM and Cert differ", &CA{CertPEM: other.CertPEM, KeyPEM: ca.KeyPEM, Cert: ca.Cert}, "CertPEM and Cert differ"},
		{"nil", nil, "no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(roots, tt.ca)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReissueReason(t *testing.T) {
	root := testRoot(t)
	t0 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	if t0.Before(root.Cert.NotBefore) {
		t0 = root.Cert.NotBefore.Add(time.Hour).UTC().Truncate(time.Second)
	}
	base := IntermediateRequest{Cluster: "east", Organization: "acme", Algorithm: ECDSAP256, Validity: 365 * day, NotBefore: t0}
	ca, err := IssueIntermediate(root, base)
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := NewRoot(RootRequest{CommonName: "other", NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	expiry := t0.Add(365 * day).Format(time.DateOnly)
	with := func(f func(*IntermediateRequest)) IntermediateRequest { r := base; f(&r); return r }
	tests := []struct {
		name        string
		existing    *x509.Certificate
		root        *x509.Certificate
		want        IntermediateRequest
		renewBefore time.Duration
		now         time.Time
		reason      string
	}{
		{"unchanged", ca.Cert, root.Cert, base, 30 * day, t0.Add(day), ""},
		{"default algorithm is ecdsa-p256", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.Algorithm = "" }), 30 * day, t0, ""},
		{"new NotBefore does not matter", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.NotBefore = t0.Add(100 * day) }), 30 * day, t0, ""},
		{"missing", nil, root.Cert, base, 0, t0, "no existing intermediate"},
		{"algorithm", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.Algorithm = RSA2048 }), 30 * day, t0, "algorithm changed from ecdsa-p256 to rsa-2048"},
		{"cluster renamed", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.Cluster = "west" }), 30 * day, t0, "subject changed"},
		{"organization", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.Organization = "other" }), 30 * day, t0, "subject changed"},
		{"validity", ca.Cert, root.Cert, with(func(r *IntermediateRequest) { r.Validity = 730 * day }), 30 * day, t0, "validity policy changed from 8760h to 17520h"},
		{"other root", ca.Cert, otherRoot.Cert, base, 30 * day, t0, "signed by a different root"},
		{"within renewBefore", ca.Cert, root.Cert, base, 30 * day, t0.Add(340 * day), "expires " + expiry + ", within renewBefore 720h"},
		{"just outside renewBefore", ca.Cert, root.Cert, base, 30 * day, t0.Add(334 * day), ""},
		{"expired", ca.Cert, root.Cert, base, 30 * day, t0.Add(400 * day), "expired " + expiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReissueReason(tt.existing, tt.root, tt.want, tt.renewBefore, tt.now)
			if got != tt.reason {
				t.Errorf("ReissueReason = %q, want %q", got, tt.reason)
			}
		})
	}
}

func TestParseKeyAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"": ECDSAP256, "ecdsa-p384": ECDSAP384, "rsa-4096": RSA4096} {
		if got, err := ParseKeyAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseKeyAlgorithm(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseKeyAlgorithm("ed25519")
	if err == nil || !strings.Contains(err.Error(), "want one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096") {
		t.Errorf("err = %v", err)
	}
}

func TestIssueAll(t *testing.T) {
	root := testRoot(t)
	now := time.Now()
	var reqs []IntermediateRequest
	for i := range 7 {
		reqs = append(reqs, IntermediateRequest{Cluster: fmt.Sprintf("c%d", i), Organization: "o", NotBefore: now})
	}
	var calls []int
	cas, err := IssueAll(root, reqs, 3, func(done, total int) {
		if total != len(reqs) {
			t.Errorf("total = %d", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ca := range cas {
		if got := ca.Cert.Subject.Locality[0]; got != reqs[i].Cluster {
			t.Errorf("result %d is for %s", i, got)
		}
		if err := Verify([]*x509.Certificate{root.Cert}, ca); err != nil {
			t.Error(err)
		}
	}
	if fmt.Sprint(calls) != "[1 2 3 4 5 6 7]" {
		t.Errorf("progress calls = %v", calls)
	}
	if bytes.Equal(cas[0].KeyPEM, cas[1].KeyPEM) {
		t.Error("intermediates share a key")
	}

	reqs[4].Organization = ""
	if _, err := IssueAll(root, reqs, 0, nil); err == nil || !strings.Contains(err.Error(), `cluster "c4"`) {
		t.Errorf("err = %v, want it to name cluster c4", err)
	}
	if cas, err := IssueAll(root, nil, 4, nil); err != nil || len(cas) != 0 {
		t.Errorf("empty: %v %v", cas, err)
	}
}

func benchmarkIssue(b *testing.B, alg Algorithm, n int) {
	root := testRoot(b)
	reqs := make([]IntermediateRequest, n)
	for i := range reqs {
		reqs[i] = IntermediateRequest{Cluster: fmt.Sprintf("cluster-%03d", i), Organization: "bench", Algorithm: alg, NotBefore: time.Now()}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := IssueAll(root, reqs, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/cert")
}

// BenchmarkIssueIntermediates issues 200 ecdsa-p256 intermediates per op
// over GOMAXPROCS workers.
func BenchmarkIssueIntermediates(b *testing.B) { benchmarkIssue(b, ECDSAP256, 200) }

// BenchmarkIssueIntermediatesRSA4096 issues 8 rsa-4096 intermediates per op.
func BenchmarkIssueIntermediatesRSA4096(b *testing.B) { benchmarkIssue(b, RSA4096, 8) }

// TestNoChurnNearRootExpiry: an intermediate cut short by the root's expiry
// is kept inside renewBefore, since a new one could not last longer.
func TestNoChurnNearRootExpiry(t *testing.T) {
	root, err := NewRoot(RootRequest{CommonName: "Root CA", Organization: "Test", Validity: 1000 * time.Hour, NotBefore: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	req := IntermediateRequest{Cluster: "a", Organization: "Test", Validity: 17520 * time.Hour, NotBefore: root.Cert.NotBefore}
	ca, err := IssueIntermediate(root, req)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Fatalf("intermediate not capped at the root: %v vs %v", ca.Cert.NotAfter, root.Cert.NotAfter)
	}
	late := root.Cert.NotAfter.Add(-24 * time.Hour)
	if r := ReissueReason(ca.Cert, root.Cert, req, 720*time.Hour, late); r != "" {
		t.Errorf("re-issue near the root's expiry: %q", r)
	}
	if r := ReissueReason(ca.Cert, root.Cert, req, 720*time.Hour, root.Cert.NotAfter.Add(time.Hour)); r == "" {
		t.Error("an expired intermediate must be re-issued")
	}
}

// garbageKeyPEM is a PEM block of the given key type whose body is not a
// key, built here so that no key-shaped text sits in the source.
func garbageKeyPEM(typ string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: []byte("secret")})
}

// TestNewRootTakesTheTime: the root's validity is the caller's, to the
// second, and with the global random pinned the same request gives the
// same root (nothing reads the wall clock).
func TestNewRootTakesTheTime(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	req := RootRequest{CommonName: "Root CA", Organization: "o", Validity: 48 * time.Hour, NotBefore: at}
	newRoot := func() *CA {
		cryptotest.SetGlobalRandom(t, 3)
		ca, err := NewRoot(req)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	a, b := newRoot(), newRoot()
	if !a.Cert.NotBefore.Equal(at.Truncate(time.Second)) || !a.Cert.NotAfter.Equal(at.Truncate(time.Second).Add(48*time.Hour)) {
		t.Errorf("validity %v..%v", a.Cert.NotBefore, a.Cert.NotAfter)
	}
	if !bytes.Equal(a.CertPEM, b.CertPEM) || !bytes.Equal(a.KeyPEM, b.KeyPEM) {
		t.Error("the same request and global random gave two roots")
	}
	if err := KeyMatches(a.Cert, a.KeyPEM); err != nil {
		t.Error(err)
	}
	if !a.Cert.IsCA || a.Cert.MaxPathLen != -1 || a.Cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("root constraints: CA %v pathlen %d usage %v", a.Cert.IsCA, a.Cert.MaxPathLen, a.Cert.KeyUsage)
	}
	if _, err := NewRoot(RootRequest{CommonName: "Root CA"}); err == nil || !strings.Contains(err.Error(), "NotBefore is zero") {
		t.Errorf("a root without a time: %v", err)
	}
}

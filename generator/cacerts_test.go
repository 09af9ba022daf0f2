package generator

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
)

// The recipients of the committed TEST ONLY identities in testdata/age.
const (
	testOperatorRecipient = "age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf"
	testClusterRecipient  = "age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq"
)

// pkiInventory is a one-network mesh of n clusters c001, c002, ... whose
// secrets are encrypted to the test-only recipients.
func pkiInventory(t testing.TB, n int, alg string) *inventory.Inventory {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  recipients: [%s]
  istio: {version: 1.28.2}
  discovery: service-entries
  pki: {keyAlgorithm: %s}
networks:
  - name: net1
clusters:
`, testOperatorRecipient, alg)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - name: %s\n    network: net1\n    recipients: [%s]\n    eastWestGateway: {address: eastwest.%[1]s.example.net}\n",
			clusterName(i), testClusterRecipient)
	}
	return loadValid(t, "inventory.yaml", []byte(b.String()))
}

func clusterName(i int) string { return fmt.Sprintf("c%03d", i) }

// cacertsPathOf is where a cluster's cacerts secret is generated.
func cacertsPathOf(cluster string) string {
	return CacertsPath(cluster)
}

// testKeyFile is the path of a committed TEST ONLY identity: "operator" or
// "cluster".
func testKeyFile(t testing.TB, name string) string {
	return filepath.Join(testtools.ModuleRoot(t), "testdata", "age", "test-only-"+name+".agekey")
}

// ageIdentities loads a TEST ONLY identity the way the CLI does, through
// SOPS_AGE_KEY_FILE.
func ageIdentities(t testing.TB, name string) []age.Identity {
	t.Helper()
	file := testKeyFile(t, name)
	ids, err := sops.IdentitiesFromEnv(func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return file
		}
		return ""
	}, os.ReadFile)
	if err != nil || len(ids) == 0 {
		t.Fatalf("load %s identity: %v", name, err)
	}
	return ids
}

// pkiOptions are testOptions without identities: a test that needs one
// says so.
func pkiOptions(prior map[string][]byte) Options {
	opts := testOptions(prior)
	opts.Identities = nil
	return opts
}

func mustGenerate(t testing.TB, inv *inventory.Inventory, opts Options) *Tree {
	t.Helper()
	tree, err := Generate(inv, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// needIdentity asserts that Generate failed for want of an identity and
// returns the items.
func needIdentity(t *testing.T, err error) []string {
	t.Helper()
	var ne *secrets.NeedIdentityError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want a *secrets.NeedIdentityError", err)
	}
	return ne.Items
}

// publicData is the stringData of a secret file as stored: certificates in
// plaintext, ca-key.pem as its ENC[...] value.
func publicData(t testing.TB, data []byte) map[string]string {
	t.Helper()
	var doc secrets.Doc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.StringData
}

// openSecret decrypts a secret file and returns its stringData.
func openSecret(t testing.TB, data []byte, ids []age.Identity) map[string]string {
	t.Helper()
	plain, err := sops.Decrypt(data, ids)
	if err != nil {
		t.Fatal(err)
	}
	return publicData(t, plain)
}

// rootOf returns the signing root of a tree: the first certificate of
// pki/root-cert.pem.
func rootOf(t testing.TB, tree *Tree) (*x509.Certificate, []byte) {
	t.Helper()
	f := tree.Get(RootCertPath)
	if f == nil {
		t.Fatalf("no %s", RootCertPath)
	}
	b, _ := pem.Decode(bytes.TrimPrefix(f.Data, []byte(Header)))
	if b == nil {
		t.Fatalf("%s: no PEM block", RootCertPath)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(b)
}

// bundleOf returns pki/root-cert.pem without its header.
func bundleOf(t testing.TB, tree *Tree) []byte {
	t.Helper()
	return bytes.TrimPrefix(tree.Get(RootCertPath).Data, []byte(Header))
}

// intermediateOf decrypts a cluster's cacerts into a CA.
func intermediateOf(t testing.TB, tree *Tree, cluster string, ids []age.Identity) *pki.CA {
	t.Helper()
	f := tree.Get(cacertsPathOf(cluster))
	if f == nil {
		t.Fatalf("no cacerts for %s", cluster)
	}
	sd := openSecret(t, f.Data, ids)
	cert, err := secrets.ParseCertPEM([]byte(sd["ca-cert.pem"]))
	if err != nil {
		t.Fatal(err)
	}
	return &pki.CA{CertPEM: []byte(sd["ca-cert.pem"]), KeyPEM: []byte(sd["ca-key.pem"]), Cert: cert}
}

// changedFiles lists the paths whose content differs between two trees,
// including files only in one of them.
func changedFiles(a, b *Tree) []string {
	am, bm := a.Map(), b.Map()
	var out []string
	for p, d := range am {
		if e, ok := bm[p]; !ok || !bytes.Equal(d, e) {
			out = append(out, p)
		}
	}
	for p := range bm {
		if _, ok := am[p]; !ok {
			out = append(out, p)
		}
	}
	return sortedCopy(out)
}

func TestPKIFirstRun(t *testing.T) {
	const n = 3
	inv := pkiInventory(t, n, "ecdsa-p256")
	tree := mustGenerate(t, inv, pkiOptions(nil))
	op, cl := ageIdentities(t, "operator"), ageIdentities(t, "cluster")

	if f := tree.Get(RootCertPath); f == nil || f.Secret {
		t.Fatalf("%s: missing or marked secret", RootCertPath)
	}
	root, rootPEM := rootOf(t, tree)
	if got := bundleOf(t, tree); !bytes.Equal(got, rootPEM) {
		t.Errorf("%s holds more than the root:\n%s", RootCertPath, got)
	}

	rootFile := tree.Get(RootCAPath)
	if rootFile == nil || !rootFile.Secret {
		t.Fatalf("%s: missing or not marked secret", RootCAPath)
	}
	if _, err := sops.Decrypt(rootFile.Data, cl); !errors.Is(err, sops.ErrNoIdentity) {
		t.Errorf("the cluster identity decrypts the root key: err = %v", err)
	}
	rd := openSecret(t, rootFile.Data, op)
	rootCA, err := pki.ImportRoot([]byte(rd["ca-cert.pem"]), []byte(rd["ca-key.pem"]))
	if err != nil {
		t.Fatalf("%s does not hold a usable root: %v", RootCAPath, err)
	}
	if !rootCA.Cert.Equal(root) {
		t.Errorf("%s holds a different root than %s", RootCAPath, RootCertPath)
	}
	if strings.Contains(string(rootFile.Data), "PRIVATE KEY") {
		t.Errorf("%s holds a plaintext key", RootCAPath)
	}
	if got := tree.Reasons[RootCAPath]; got != "root created" {
		t.Errorf("Reasons[%s] = %q", RootCAPath, got)
	}

	for i := 1; i <= n; i++ {
		name := clusterName(i)
		p := cacertsPathOf(name)
		f := tree.Get(p)
		if f == nil || !f.Secret {
			t.Fatalf("%s: missing or not marked secret", p)
		}
		if strings.Contains(string(f.Data), "PRIVATE KEY") {
			t.Errorf("%s holds a plaintext key", p)
		}
		byCluster, byOperator := openSecret(t, f.Data, cl), openSecret(t, f.Data, op)
		if fmt.Sprint(byCluster) != fmt.Sprint(byOperator) {
			t.Errorf("%s decrypts differently with the cluster and the operator identity", p)
		}
		ca := intermediateOf(t, tree, name, cl)
		if err := pki.Verify([]*x509.Certificate{root}, ca); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if err := pki.KeyMatches(ca.Cert, ca.KeyPEM); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if got := ca.Cert.Subject.Locality; len(got) != 1 || got[0] != name {
			t.Errorf("%s: subject L = %v, want %s", p, got, name)
		}
		if got, want := byCluster["cert-chain.pem"], byCluster["ca-cert.pem"]+string(rootPEM); got != want {
			t.Errorf("%s: cert-chain.pem is not ca-cert.pem + root:\n%s", p, got)
		}
		if got := byCluster["root-cert.pem"]; got != string(rootPEM) {
			t.Errorf("%s: root-cert.pem is not the root:\n%s", p, got)
		}
		if ca.Cert.NotBefore.Before(root.NotBefore) {
			t.Errorf("%s: intermediate valid from %v, before its root (%v)", p, ca.Cert.NotBefore, root.NotBefore)
		}
		if got := tree.Reasons[p]; got != "new cluster" {
			t.Errorf("Reasons[%s] = %q", p, got)
		}
	}
}

func TestPKINoChurn(t *testing.T) {
	inv := pkiInventory(t, 3, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	opts := pkiOptions(first.Map())
	opts.Now = testNow.Add(90 * 24 * time.Hour)
	second := mustGenerate(t, inv, opts) // no identities
	if ch := changedFiles(first, second); len(ch) > 0 {
		t.Errorf("unchanged inputs rewrote %v", ch)
	}
	if len(second.Reasons) > 0 {
		t.Errorf("Reasons = %v, want none", second.Reasons)
	}
}

func TestPKIRenewal(t *testing.T) {
	const n = 3
	inv := pkiInventory(t, n, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	root, _ := rootOf(t, first)
	op := ageIdentities(t, "operator")
	old := intermediateOf(t, first, clusterName(1), op).Cert

	// Ten days before expiry, inside the default renewBefore of 720h.
	now := old.NotAfter.Add(-10 * 24 * time.Hour)
	opts := pkiOptions(first.Map())
	opts.Now = now
	_, err := Generate(inv, opts)
	items := needIdentity(t, err)
	if len(items) != n {
		t.Errorf("NeedIdentityError has %d items, want %d:\n%s", len(items), n, err)
	}
	for i := 1; i <= n; i++ {
		if !strings.Contains(err.Error(), fmt.Sprintf("cluster %q", clusterName(i))) {
			t.Errorf("error does not name cluster %s:\n%v", clusterName(i), err)
		}
	}
	for _, it := range items {
		if !strings.Contains(it, "within renewBefore 720h") {
			t.Errorf("item %q does not say why", it)
		}
	}

	opts.Identities = op
	renewed := mustGenerate(t, inv, opts)
	for i := 1; i <= n; i++ {
		name, p := clusterName(i), cacertsPathOf(clusterName(i))
		prev := intermediateOf(t, first, name, op)
		ca := intermediateOf(t, renewed, name, op)
		if ca.Cert.Equal(prev.Cert) || ca.Cert.SerialNumber.Cmp(prev.Cert.SerialNumber) == 0 {
			t.Errorf("%s: certificate not re-issued", p)
		}
		if !ca.Cert.NotBefore.Equal(now.Truncate(time.Second)) {
			t.Errorf("%s: NotBefore = %v, want %v", p, ca.Cert.NotBefore, now)
		}
		if err := pki.Verify([]*x509.Certificate{root}, ca); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if r := renewed.Reasons[p]; !strings.Contains(r, "within renewBefore") {
			t.Errorf("Reasons[%s] = %q", p, r)
		}
	}
	for _, p := range changedFiles(first, renewed) {
		// MESH.md shows the intermediates' new expiry dates.
		if path.Base(p) != cacertsFile && p != MeshMDPath {
			t.Errorf("renewal changed %s", p)
		}
	}

	// Renewed, the tree is stable again without an identity.
	opts = pkiOptions(renewed.Map())
	opts.Now = now.Add(24 * time.Hour)
	if ch := changedFiles(renewed, mustGenerate(t, inv, opts)); len(ch) > 0 {
		t.Errorf("after renewal, a run rewrote %v", ch)
	}
}

func TestPKIRecipientAdded(t *testing.T) {
	inv := pkiInventory(t, 3, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	op := ageIdentities(t, "operator")
	newID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	newRecipient := newID.Recipient().String()
	name, p := clusterName(2), cacertsPathOf(clusterName(2))

	inv2 := pkiInventory(t, 3, "ecdsa-p256")
	inv2.Clusters[1].Recipients = append(inv2.Clusters[1].Recipients, newRecipient)
	opts := pkiOptions(first.Map())
	_, err = Generate(inv2, opts)
	items := needIdentity(t, err)
	if len(items) != 1 || !strings.Contains(items[0], fmt.Sprintf("cluster %q", name)) || !strings.Contains(items[0], "recipient added "+newRecipient) {
		t.Errorf("items = %q, want one naming cluster %s and the added recipient", items, name)
	}

	opts.Identities = op
	second := mustGenerate(t, inv2, opts)
	if got, want := changedFiles(first, second), []string{".sops.yaml", p}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changed files = %v, want %v", got, want)
	}
	if r := second.Reasons[p]; !strings.Contains(r, "re-encrypted") || !strings.Contains(r, newRecipient) {
		t.Errorf("Reasons[%s] = %q", p, r)
	}
	before, after := publicData(t, first.Get(p).Data), publicData(t, second.Get(p).Data)
	if before["ca-key.pem"] != after["ca-key.pem"] {
		t.Errorf("%s: the encrypted ca-key.pem changed; a re-encryption keeps the data key and values", p)
	}
	if before["ca-cert.pem"] != after["ca-cert.pem"] {
		t.Errorf("%s: the certificate changed", p)
	}
	md, err := sops.ReadMetadata(second.Get(p).Data)
	if err != nil {
		t.Fatal(err)
	}
	if want := sortedCopy([]string{testOperatorRecipient, testClusterRecipient, newRecipient}); fmt.Sprint(sortedCopy(md.Recipients)) != fmt.Sprint(want) {
		t.Errorf("%s: recipients = %v, want %v", p, md.Recipients, want)
	}
	byNew := openSecret(t, second.Get(p).Data, []age.Identity{newID})
	if byNew["ca-key.pem"] != openSecret(t, first.Get(p).Data, op)["ca-key.pem"] {
		t.Errorf("%s: the new identity decrypts a different key", p)
	}
	if !bytes.Contains(second.Get(".sops.yaml").Data, []byte(newRecipient)) {
		t.Errorf(".sops.yaml does not list %s:\n%s", newRecipient, second.Get(".sops.yaml").Data)
	}
}

func TestPKIAlgorithmChange(t *testing.T) {
	const n = 2
	first := mustGenerate(t, pkiInventory(t, n, "ecdsa-p256"), pkiOptions(nil))
	root, _ := rootOf(t, first)
	op := ageIdentities(t, "operator")
	inv := pkiInventory(t, n, "rsa-2048")
	opts := pkiOptions(first.Map())
	_, err := Generate(inv, opts)
	for _, it := range needIdentity(t, err) {
		if !strings.Contains(it, "algorithm changed from ecdsa-p256 to rsa-2048") {
			t.Errorf("item %q does not say why", it)
		}
	}
	opts.Identities = op
	second := mustGenerate(t, inv, opts)
	for i := 1; i <= n; i++ {
		p := cacertsPathOf(clusterName(i))
		ca := intermediateOf(t, second, clusterName(i), op)
		if alg := pki.AlgorithmOf(ca.Cert); alg != "rsa-2048" {
			t.Errorf("%s: algorithm %s, want rsa-2048", p, alg)
		}
		if err := pki.Verify([]*x509.Certificate{root}, ca); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if r := second.Reasons[p]; r != "algorithm changed from ecdsa-p256 to rsa-2048" {
			t.Errorf("Reasons[%s] = %q", p, r)
		}
	}
}

func TestPKIImportRoot(t *testing.T) {
	const n = 3
	inv := pkiInventory(t, n, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	oldRoot, _ := rootOf(t, first)
	imported, err := pki.NewRoot(pki.RootRequest{CommonName: "Imported Root", Organization: "example", Algorithm: pki.Algorithm("ecdsa-p256"), NotBefore: testNow})
	if err != nil {
		t.Fatal(err)
	}
	op := ageIdentities(t, "operator")

	// The imported root brings its key: no identity needed.
	opts := pkiOptions(first.Map())
	opts.ImportRoot = imported
	second := mustGenerate(t, inv, opts)
	if got, want := second.Get(RootCertPath).Data, append([]byte(Header), imported.CertPEM...); !bytes.Equal(got, want) {
		t.Errorf("%s is not the imported root:\n%s", RootCertPath, got)
	}
	rd := openSecret(t, second.Get(RootCAPath).Data, op)
	if rd["ca-cert.pem"] != string(imported.CertPEM) || rd["ca-key.pem"] != string(imported.KeyPEM) {
		t.Errorf("%s does not hold the imported root and key", RootCAPath)
	}
	if r := second.Reasons[RootCAPath]; r != "root imported" {
		t.Errorf("Reasons[%s] = %q", RootCAPath, r)
	}
	for i := 1; i <= n; i++ {
		p := cacertsPathOf(clusterName(i))
		ca := intermediateOf(t, second, clusterName(i), op)
		if ca.Cert.Equal(intermediateOf(t, first, clusterName(i), op).Cert) {
			t.Errorf("%s: intermediate not re-issued", p)
		}
		if err := pki.Verify([]*x509.Certificate{imported.Cert}, ca); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if pki.Verify([]*x509.Certificate{oldRoot}, ca) == nil {
			t.Errorf("%s: still verifies under the old root", p)
		}
		if r := second.Reasons[p]; r != "signed by a different root" {
			t.Errorf("Reasons[%s] = %q", p, r)
		}
		if got := openSecret(t, second.Get(p).Data, op)["root-cert.pem"]; got != string(imported.CertPEM) {
			t.Errorf("%s: root-cert.pem is not the imported root", p)
		}
	}

	// Once imported, the root is the prior tree's like any other; importing
	// it again (the flags left in a script) changes nothing either.
	for _, again := range []*pki.CA{nil, imported} {
		opts = pkiOptions(second.Map())
		opts.Now = testNow.Add(time.Hour)
		opts.ImportRoot = again
		if ch := changedFiles(second, mustGenerate(t, inv, opts)); len(ch) > 0 {
			t.Errorf("after the import, a run with ImportRoot %v rewrote %v", again != nil, ch)
		}
	}
}

func TestPKITrustedRoots(t *testing.T) {
	const n = 2
	inv := pkiInventory(t, n, "ecdsa-p256")
	op := ageIdentities(t, "operator")
	newRoot := func() *pki.CA {
		ca, err := pki.NewRoot(pki.RootRequest{CommonName: "Old Root", Organization: "example", NotBefore: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	old := newRoot()

	opts := pkiOptions(nil)
	opts.TrustedRoots = [][]byte{old.CertPEM}
	first := mustGenerate(t, inv, opts)
	root, rootPEM := rootOf(t, first)
	bundle := append(append([]byte(nil), rootPEM...), old.CertPEM...)
	if got := bundleOf(t, first); !bytes.Equal(got, bundle) {
		t.Errorf("%s is not the signing root followed by the trusted root:\n%s", RootCertPath, got)
	}
	for i := 1; i <= n; i++ {
		p := cacertsPathOf(clusterName(i))
		sd := openSecret(t, first.Get(p).Data, op)
		if sd["root-cert.pem"] != string(bundle) {
			t.Errorf("%s: root-cert.pem is not the two-root bundle:\n%s", p, sd["root-cert.pem"])
		}
		if sd["cert-chain.pem"] != sd["ca-cert.pem"]+string(rootPEM) {
			t.Errorf("%s: cert-chain.pem is not ca-cert.pem + the signing root", p)
		}
		ca := intermediateOf(t, first, clusterName(i), op)
		if err := pki.Verify([]*x509.Certificate{root, old.Cert}, ca); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// The same trusted roots again: nothing changes, no identity needed.
	opts = pkiOptions(first.Map())
	opts.TrustedRoots = [][]byte{old.CertPEM}
	if ch := changedFiles(first, mustGenerate(t, inv, opts)); len(ch) > 0 {
		t.Errorf("the same trusted roots rewrote %v", ch)
	}

	// Other trusted roots: every cacerts is re-bundled, which needs an
	// identity, and keeps its intermediate.
	other := newRoot()
	opts.TrustedRoots = [][]byte{other.CertPEM}
	_, err := Generate(inv, opts)
	items := needIdentity(t, err)
	if len(items) != n {
		t.Errorf("items = %q, want %d", items, n)
	}
	for _, it := range items {
		if !strings.Contains(it, "trust bundle changed") {
			t.Errorf("item %q does not say why", it)
		}
	}
	opts.Identities = op
	second := mustGenerate(t, inv, opts)
	bundle = append(append([]byte(nil), rootPEM...), other.CertPEM...)
	if got := bundleOf(t, second); !bytes.Equal(got, bundle) {
		t.Errorf("%s is not the new bundle:\n%s", RootCertPath, got)
	}
	for i := 1; i <= n; i++ {
		p := cacertsPathOf(clusterName(i))
		before, after := openSecret(t, first.Get(p).Data, op), openSecret(t, second.Get(p).Data, op)
		for _, k := range []string{"ca-cert.pem", "ca-key.pem", "cert-chain.pem"} {
			if before[k] != after[k] {
				t.Errorf("%s: %s changed in a re-bundle", p, k)
			}
		}
		if after["root-cert.pem"] != string(bundle) {
			t.Errorf("%s: root-cert.pem is not the new bundle", p)
		}
		if r := second.Reasons[p]; r != "trust bundle changed" {
			t.Errorf("Reasons[%s] = %q", p, r)
		}
	}
	if !bytes.Equal(first.Get(RootCAPath).Data, second.Get(RootCAPath).Data) {
		t.Errorf("a re-bundle rewrote %s", RootCAPath)
	}
}

func TestPKIRootKeyMissing(t *testing.T) {
	inv := pkiInventory(t, 2, "ecdsa-p256")
	prior := mustGenerate(t, inv, pkiOptions(nil)).Map()
	delete(prior, RootCAPath)
	opts := pkiOptions(prior)
	opts.Identities = ageIdentities(t, "operator")
	_, err := Generate(inv, opts)
	if err == nil || !strings.Contains(err.Error(), RootCertPath+" exists but "+RootCAPath+" does not") {
		t.Fatalf("err = %v, want one saying the root key is missing", err)
	}
}

// TestPKISopsBinaryDecrypts decrypts every generated secret with the real
// sops binary and compares with sops.Decrypt. Only the encrypted files are
// written to disk.
func TestPKISopsBinaryDecrypts(t *testing.T) {
	bin := testtools.Find(t, "sops")
	tree := mustGenerate(t, pkiInventory(t, 2, "ecdsa-p256"), pkiOptions(nil))
	dir := t.TempDir()
	run := func(key, file string) ([]byte, error) {
		cmd := exec.Command(bin, "decrypt", file)
		cmd.Dir = dir
		// A clean environment, so no user configuration or key leaks in.
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "SOPS_AGE_KEY_FILE=" + testKeyFile(t, key)}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, stderr.Bytes())
		}
		return out, nil
	}
	want := map[string]bool{RootCAPath: true, cacertsPathOf("c001"): true, cacertsPathOf("c002"): true}
	for _, f := range tree.Files {
		if !f.Secret {
			continue
		}
		delete(want, f.Path)
		file := filepath.Join(dir, strings.ReplaceAll(f.Path, "/", "_"))
		if err := os.WriteFile(file, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		md, err := sops.ReadMetadata(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		key := "cluster"
		if !slices.Contains(md.Recipients, testClusterRecipient) {
			key = "operator"
			if _, err := run("cluster", file); err == nil {
				t.Errorf("sops decrypts %s with the cluster identity", f.Path)
			}
		}
		theirs, err := run(key, file)
		if err != nil {
			t.Errorf("sops decrypt %s: %v", f.Path, err)
			continue
		}
		ours, err := sops.Decrypt(f.Data, ageIdentities(t, key))
		if err != nil {
			t.Fatal(err)
		}
		// sops keeps comments, and so the generated-file header;
		// sops.Decrypt drops them.
		theirs = bytes.TrimPrefix(theirs, []byte(Header))
		if !bytes.Equal(theirs, ours) {
			// Test-only keys, but a failure still prints no key.
			t.Errorf("%s: sops decrypt and sops.Decrypt differ from line %d", f.Path, firstDiffLine(theirs, ours))
		}
	}
	for p := range want {
		t.Errorf("%s: not generated as a secret", p)
	}
}

// TestPKIOpenSSLVerifies checks every chain with openssl verify, as Istio's
// plug-in CA guide does. Only public PEMs are written to disk.
func TestPKIOpenSSLVerifies(t *testing.T) {
	bin := testtools.Find(t, "openssl")
	for _, alg := range []string{"ecdsa-p256", "rsa-2048"} {
		t.Run(alg, func(t *testing.T) {
			old, err := pki.NewRoot(pki.RootRequest{CommonName: "Old Root", NotBefore: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			inv := pkiInventory(t, 2, alg)
			// openssl checks validity at the wall clock.
			opts := Options{Now: time.Now(), TrustedRoots: [][]byte{old.CertPEM}}
			tree := mustGenerate(t, inv, opts)
			for _, c := range inv.Clusters {
				dir := t.TempDir()
				sd := publicData(t, tree.Get(cacertsPathOf(c.Name)).Data)
				for _, k := range []string{"root-cert.pem", "cert-chain.pem", "ca-cert.pem"} {
					if err := os.WriteFile(filepath.Join(dir, k), []byte(sd[k]), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cmd := exec.Command(bin, "verify", "-CAfile", "root-cert.pem", "-untrusted", "cert-chain.pem", "ca-cert.pem")
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != "ca-cert.pem: OK" {
					t.Errorf("%s: openssl verify: %v\n%s", c.Name, err, out)
				}
			}
		})
	}
}

// firstDiffLine is the 1-based number of the first line where a and b
// differ.
func firstDiffLine(a, b []byte) int {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range al {
		if i >= len(bl) || !bytes.Equal(al[i], bl[i]) {
			return i + 1
		}
	}
	return len(al) + 1
}

func benchmarkFirstRun(b *testing.B, n int, alg string) {
	inv := pkiInventory(b, n, alg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tree, err := Generate(inv, Options{Now: testNow})
		if err != nil {
			b.Fatal(err)
		}
		if tree.Get(cacertsPathOf(clusterName(n))) == nil {
			b.Fatal("no cacerts for the last cluster")
		}
	}
}

// BenchmarkFirstRunPKI200 creates a root and 200 intermediates, each
// encrypted: the first run of a large fleet. Target: well under 2 s.
func BenchmarkFirstRunPKI200(b *testing.B) { benchmarkFirstRun(b, 200, "ecdsa-p256") }

// BenchmarkFirstRunPKI16RSA4096 is the same with the slowest algorithm,
// for 16 clusters: RSA-4096 key generation dominates (about 0.8 s a key on
// one core), so 200 clusters take minutes.
func BenchmarkFirstRunPKI16RSA4096(b *testing.B) { benchmarkFirstRun(b, 16, "rsa-4096") }

// TestPKITamperedNotReused: with an identity, a cacerts whose encrypted key
// was altered is re-issued instead of being carried on.
func TestPKITamperedNotReused(t *testing.T) {
	inv := pkiInventory(t, 2, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	prior := first.Map()
	p := cacertsPathOf(clusterName(1))
	data := string(prior[p])
	i := strings.Index(data, "ENC[AES256_GCM,data:")
	if i < 0 {
		t.Fatalf("no encrypted value in %s:\n%s", p, data)
	}
	j := i + len("ENC[AES256_GCM,data:")
	flip := "A"
	if data[j] == 'A' {
		flip = "B"
	}
	prior[p] = []byte(data[:j] + flip + data[j+1:])

	// Without an identity the change cannot be seen; the file is kept.
	kept := mustGenerate(t, inv, pkiOptions(prior))
	if string(kept.Get(p).Data) != string(prior[p]) {
		t.Error("without an identity the file should be kept as found")
	}
	opts := pkiOptions(prior)
	opts.Identities = ageIdentities(t, "operator")
	next := mustGenerate(t, inv, opts)
	if string(next.Get(p).Data) == string(prior[p]) {
		t.Fatal("tampered cacerts reused")
	}
	if r := next.Reasons[p]; !strings.Contains(r, "integrity") {
		t.Errorf("reason = %q", r)
	}
	other := cacertsPathOf(clusterName(2))
	if string(next.Get(other).Data) != string(prior[other]) {
		t.Error("an intact cacerts was rewritten")
	}
}

// TestPKIOperatorAdded: a new operator recipient re-encrypts the root key
// and every cluster's cacerts; without an identity the error names them all.
func TestPKIOperatorAdded(t *testing.T) {
	const n = 3
	inv := pkiInventory(t, n, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))
	newID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	inv.Mesh.Recipients = append(inv.Mesh.Recipients, newID.Recipient().String())
	opts := pkiOptions(first.Map())
	_, err = Generate(inv, opts)
	items := needIdentity(t, err)
	if len(items) != n+1 || !strings.HasPrefix(items[0], RootCAPath) {
		t.Fatalf("items = %q, want the root key and %d clusters", items, n)
	}
	opts.Identities = ageIdentities(t, "operator")
	second := mustGenerate(t, inv, opts)
	for i := 1; i <= n; i++ {
		p := cacertsPathOf(clusterName(i))
		if _, err := sops.Decrypt(second.Get(p).Data, []age.Identity{newID}); err != nil {
			t.Errorf("%s: the new operator cannot decrypt it: %v", p, err)
		}
	}
	if _, err := sops.Decrypt(second.Get(RootCAPath).Data, []age.Identity{newID}); err != nil {
		t.Errorf("root key: the new operator cannot decrypt it: %v", err)
	}
}

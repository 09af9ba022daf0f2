package generator

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	yaml3 "gopkg.in/yaml.v3"

	"filippo.io/age"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

// Finding is one problem Check found in a generated tree.
type Finding struct {
	// Path is the file, slash-separated and relative to the output
	// directory.
	Path string
	// Line and Col locate the key the finding is about (1-based), or are 0
	// when it is about the whole file.
	Line, Col int
	// Msg says what is wrong. It never contains secret values.
	Msg string
}

// String is "path:line:col: msg", or "path: msg" for the whole file.
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", f.Path, f.Line, f.Col, f.Msg)
	}
	return f.Path + ": " + f.Msg
}

// Check inspects the PKI of a generated tree (files, keyed by path, as on
// disk) without generating anything: every cluster's cacerts is present and
// readable, its intermediate chains to the one signing root in
// pki/root-cert.pem and is not within renewBefore of expiry at now, its
// cert-chain.pem and root-cert.pem are what meshgen writes, and every secret
// is encrypted to exactly the recipients the inventory asks for.
//
// With identities, it also decrypts every secret they can open, verifying
// its MAC, and checks that each private key matches its certificate. A
// secret none of ids is a recipient of is not decrypted: holding one
// cluster's key is enough to check that cluster. Without identities a
// tampered encrypted value goes unnoticed.
//
// Findings are sorted by path; messages never quote secret values.
func Check(inv *inventory.Inventory, files map[string][]byte, ids []age.Identity, now time.Time) []Finding {
	return CheckReport(inv, files, ids, now).Findings
}

// Report is what Check found, and which secrets it could open.
type Report struct {
	Findings []Finding
	// Decrypted are the secrets an identity opened and whose contents were
	// checked (MAC, private key against certificate), by path.
	Decrypted []string
	// NotDecrypted are the secrets no identity given could open: only
	// their plaintext (certificates, recipients) was checked.
	NotDecrypted []string
}

// CheckReport is Check that also says which secrets were decrypted.
func CheckReport(inv *inventory.Inventory, files map[string][]byte, ids []age.Identity, now time.Time) *Report {
	c := &checker{inv: inv, topo: topology.New(inv), files: files, ids: ids, now: now, checked: map[string]bool{}}
	c.rootCert()
	c.rootCA()
	for _, tc := range c.topo.Clusters() {
		if tc.NeedsCacerts() {
			c.cacerts(tc)
		}
	}
	c.otherSecrets()
	sort.SliceStable(c.findings, func(i, j int) bool { return c.findings[i].Path < c.findings[j].Path })
	return &Report{Findings: c.findings, Decrypted: c.decrypted, NotDecrypted: c.notDecrypted}
}

type checker struct {
	inv      *inventory.Inventory
	topo     *topology.Mesh
	files    map[string][]byte
	ids      []age.Identity
	now      time.Time
	findings []Finding
	// decrypted and notDecrypted are the secrets opened and not opened.
	decrypted, notDecrypted []string
	// checked are the secrets decrypt was asked to open.
	checked map[string]bool

	bundle  []byte            // pki/root-cert.pem without the header
	root    *x509.Certificate // the signing root: the bundle's first certificate
	rootPEM []byte            // the signing root, PEM
}

func (c *checker) addf(p, format string, args ...any) {
	c.findings = append(c.findings, Finding{Path: p, Msg: fmt.Sprintf(format, args...)})
}

// addAt records a finding about the value at key path at of file p, with
// the position of that key when the file has it.
func (c *checker) addAt(p string, at []string, format string, args ...any) {
	f := Finding{Path: p, Msg: fmt.Sprintf(format, args...)}
	f.Line, f.Col = keyPosition(c.files[p], at)
	c.findings = append(c.findings, f)
}

// keyPosition is the line and column of the key at path in a YAML
// document, or 0, 0.
func keyPosition(data []byte, path []string) (line, col int) {
	var doc yaml3.Node
	if yaml3.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0, 0
	}
	n := doc.Content[0]
	for _, key := range path {
		if n.Kind != yaml3.MappingNode {
			return 0, 0
		}
		var next *yaml3.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, col, next = n.Content[i].Line, n.Content[i].Column, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return 0, 0
		}
		n = next
	}
	return line, col
}

// rootCert reads the trust bundle; its first certificate signs every
// intermediate.
func (c *checker) rootCert() {
	data, ok := c.files[RootCertPath]
	if !ok {
		c.addf(RootCertPath, "missing")
		return
	}
	c.bundle = bytes.TrimPrefix(data, []byte(Header))
	rest := c.bundle
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if n == 1 {
				c.addf(RootCertPath, "no PEM certificate")
			}
			break
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if b.Type != "CERTIFICATE" || err != nil {
			c.addf(RootCertPath, "PEM block %d is not a certificate", n)
			continue
		}
		if n > 1 {
			continue
		}
		if !cert.IsCA || cert.CheckSignatureFrom(cert) != nil {
			c.addf(RootCertPath, "the first certificate is not a self-signed CA")
			continue
		}
		c.root, c.rootPEM = cert, pem.EncodeToMemory(b)
		renewBefore := c.inv.Mesh.PKI.Intermediate.RenewBefore.Duration
		switch {
		case !c.now.Before(cert.NotAfter):
			c.addf(RootCertPath, "the root expired %s; rotate it (docs/certificates.md)", cert.NotAfter.UTC().Format(time.DateOnly))
		case !c.now.Add(renewBefore).Before(cert.NotAfter):
			c.addf(RootCertPath, "the root expires %s, within renewBefore %s, and intermediates cannot outlive it; rotate it (docs/certificates.md)", cert.NotAfter.UTC().Format(time.DateOnly), pki.Hours(renewBefore))
		}
	}
}

// rootCA checks the encrypted root key against the signing root.
func (c *checker) rootCA() {
	operators := sortedCopy(c.inv.Mesh.Recipients)
	doc, md, ok := c.readSecret(RootCAPath)
	if !ok {
		return
	}
	c.recipients(RootCAPath, md, operators, "the operators")
	if c.root != nil && doc.StringData["ca-cert.pem"] != string(c.rootPEM) {
		c.addAt(RootCAPath, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem is not the signing root in %s", RootCertPath)
	}
	plain, ok := c.decrypt(RootCAPath, md)
	if ok && c.root != nil {
		if err := pki.KeyMatches(c.root, []byte(plain.StringData["ca-key.pem"])); err != nil {
			c.addAt(RootCAPath, []string{"stringData", "ca-key.pem"}, "ca-key.pem: %v", err)
		}
	}
}

// cacerts checks one cluster's cacerts secret.
func (c *checker) cacerts(cl *topology.Cluster) {
	p := CacertsPath(cl.Name)
	doc, md, ok := c.readSecret(p)
	if !ok {
		return
	}
	c.recipients(p, md, cl.Recipients, "the cluster's and the operators'")
	certPEM := doc.StringData["ca-cert.pem"]
	cert, err := secrets.ParseCertPEM([]byte(certPEM))
	if err != nil {
		c.addAt(p, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem: %v", err)
	} else {
		c.intermediate(p, cert)
	}
	if c.root != nil && doc.StringData["cert-chain.pem"] != certPEM+string(c.rootPEM) {
		c.addAt(p, []string{"stringData", "cert-chain.pem"}, "cert-chain.pem is not ca-cert.pem followed by the signing root in %s", RootCertPath)
	}
	if c.bundle != nil && doc.StringData["root-cert.pem"] != string(c.bundle) {
		c.addAt(p, []string{"stringData", "root-cert.pem"}, "root-cert.pem differs from %s", RootCertPath)
	}
	plain, ok := c.decrypt(p, md)
	if ok && cert != nil {
		if plain.StringData["ca-cert.pem"] != certPEM {
			// Only possible if the file was edited around sops.
			c.addAt(p, []string{"stringData", "ca-cert.pem"}, "decrypted ca-cert.pem differs from the file's")
		}
		if err := pki.KeyMatches(cert, []byte(plain.StringData["ca-key.pem"])); err != nil {
			c.addAt(p, []string{"stringData", "ca-key.pem"}, "ca-key.pem: %v", err)
		}
	}
}

// intermediate checks a cluster's CA certificate against the signing root
// and the renewal policy.
func (c *checker) intermediate(p string, cert *x509.Certificate) {
	if pki.CheckIntermediateCA(cert) != nil {
		c.addAt(p, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem is not a CA with pathlen 0 that may sign certificates")
	}
	if c.root != nil {
		if err := pki.ChainsTo(cert, []*x509.Certificate{c.root}); err != nil {
			c.addAt(p, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem does not chain to the signing root in %s: %v", RootCertPath, err)
		}
	}
	renewBefore := c.inv.Mesh.PKI.Intermediate.RenewBefore.Duration
	switch pki.RenewalOf(cert, c.root, renewBefore, c.now) {
	case pki.Expired:
		c.addAt(p, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem expired %s", cert.NotAfter.UTC().Format(time.DateOnly))
	case pki.Due:
		c.addAt(p, []string{"stringData", "ca-cert.pem"}, "ca-cert.pem expires %s, within renewBefore %s; the next generate re-issues it", cert.NotAfter.UTC().Format(time.DateOnly), pki.Hours(renewBefore))
	}
}

// readSecret parses the public part of a SOPS secret.
func (c *checker) readSecret(p string) (*secrets.Doc, *sops.Metadata, bool) {
	c.checked[p] = true
	data, ok := c.files[p]
	if !ok {
		c.addf(p, "missing")
		return nil, nil, false
	}
	// sops' errors never quote values; yaml's might, so it gets none.
	md, err := sops.ReadMetadata(data)
	if err != nil {
		c.addf(p, "%v", err)
		return nil, nil, false
	}
	var doc secrets.Doc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		c.addf(p, "not a Secret with stringData")
		return nil, nil, false
	}
	return &doc, md, true
}

// recipients compares a file's recipients with the ones it should have.
func (c *checker) recipients(p string, md *sops.Metadata, want []string, whose string) {
	have := sortedCopy(md.Recipients)
	if slices.Equal(have, want) {
		return
	}
	var parts []string
	added, removed := secrets.RecipientDiff(have, want)
	for _, r := range added {
		parts = append(parts, "not encrypted to "+r)
	}
	for _, r := range removed {
		parts = append(parts, "also encrypted to "+r)
	}
	c.addAt(p, []string{"sops", "age"}, "recipients differ from %s in the inventory: %s", whose, strings.Join(parts, "; "))
}

// decrypt opens a secret with the identities, when one of them is a
// recipient of it (or cannot be told apart from one).
func (c *checker) decrypt(p string, md *sops.Metadata) (*secrets.Doc, bool) {
	c.checked[p] = true
	if len(c.ids) == 0 {
		c.notDecrypted = append(c.notDecrypted, p)
		return nil, false
	}
	plain, err := sops.Verify(c.files[p], c.ids)
	if errors.Is(err, sops.ErrNoIdentity) && !c.isRecipient(md.Recipients) {
		c.notDecrypted = append(c.notDecrypted, p)
		return nil, false
	}
	if err != nil {
		c.addf(p, "cannot be decrypted: %v", err)
		return nil, false
	}
	var doc secrets.Doc
	if err := yaml.Unmarshal(plain, &doc); err != nil {
		c.addf(p, "decrypted file is not a Secret with stringData")
		return nil, false
	}
	c.decrypted = append(c.decrypted, p)
	return &doc, true
}

// isRecipient reports whether one of the identities should open a file
// encrypted to recipients. Identities whose recipient cannot be derived
// (no X25519 key) count as recipients, so that their failure is reported.
func (c *checker) isRecipient(recipients []string) bool {
	for _, id := range c.ids {
		x, ok := id.(*age.X25519Identity)
		if !ok || slices.Contains(recipients, x.Recipient().String()) {
			return true
		}
	}
	return false
}

// otherSecrets verifies the secrets not checked above (remote secrets,
// stored credentials, and any other *.sops.yaml in the tree) with the
// identities, as generate does before keeping them: a tampered one is a
// finding; one no identity opens is listed as not decrypted.
func (c *checker) otherSecrets() {
	var paths []string
	for p := range c.files {
		if secrets.IsSecretPath(p) && !c.checked[p] && p != RootCAPath {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		md, err := sops.ReadMetadata(c.files[p])
		if err != nil {
			c.addf(p, "%v", err)
			continue
		}
		c.decrypt(p, md)
	}
}

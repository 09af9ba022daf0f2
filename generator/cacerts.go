package generator

import (
	"bytes"
	"time"

	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sort"

	"filippo.io/age"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/pool"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
)

// pkiState is the root CA as found in the prior tree or newly created.
type pkiState struct {
	root     *x509.Certificate
	rootPEM  []byte // the signing root, PEM
	bundle   []byte // every trusted root, PEM (root-cert.pem without header)
	ca       *pki.CA
	rootFile []byte // pki/root-ca.sops.yaml as it will be written
	created  bool
	// need names work on the root that needs an identity none was given.
	need []string
}

func (g *gen) encrypt(doc any, recipients []string) ([]byte, error) {
	return encryptSecret(doc, recipients, secrets.KeyFieldRegex, g.opts.Now)
}

// encryptSecret encrypts a document (secrets.Encrypt) behind the
// generated-file header.
func encryptSecret(doc any, recipients []string, regex string, now time.Time) ([]byte, error) {
	enc, err := secrets.Encrypt(doc, recipients, regex, now)
	if err != nil {
		return nil, err
	}
	return withHeader(enc), nil
}

// withHeader puts the generated-file header on a SOPS file; sops keeps
// comments out of the MAC, so the header never affects decryption.
func withHeader(b []byte) []byte {
	if bytes.HasPrefix(b, []byte(Header)) {
		return b
	}
	return append([]byte(Header), b...)
}

// rootState loads the root from the prior tree, imports one, or creates one.
func (g *gen) rootState() (*pkiState, error) {
	m := g.inv.Mesh
	operators := append([]string(nil), m.Recipients...)
	sort.Strings(operators)
	if imp := g.opts.ImportRoot; imp != nil && !g.priorHoldsRoot(imp, operators) {
		return g.newRootState(imp, "root imported")
	}
	prior, ok := g.opts.Prior[RootCAPath]
	if !ok {
		if _, hasCert := g.opts.Prior[RootCertPath]; hasCert {
			return nil, fmt.Errorf("%s exists but %s does not: the root key is gone; restore it from Git history, or import a root with --root-cert/--root-key (every intermediate is then re-issued)", RootCertPath, RootCAPath)
		}
		ca, err := pki.NewRoot(pki.RootRequest{
			CommonName:   m.PKI.Root.CommonName,
			Organization: m.PKI.Root.Organization,
			Algorithm:    pki.Algorithm(m.PKI.KeyAlgorithm),
			Validity:     m.PKI.Root.Validity.Duration,
			NotBefore:    g.opts.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("create root CA: %w", err)
		}
		return g.newRootState(ca, "root created")
	}
	var doc secrets.Doc
	if err := yaml.Unmarshal(prior, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", RootCAPath, err)
	}
	certPEM := []byte(doc.StringData["ca-cert.pem"])
	root, err := secrets.ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: ca-cert.pem: %w", RootCAPath, err)
	}
	st := &pkiState{root: root, rootPEM: certPEM, bundle: g.bundleWith(certPEM), rootFile: prior}
	md, err := sops.ReadMetadata(prior)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootCAPath, err)
	}
	if !slices.Equal(sortedCopy(md.Recipients), operators) {
		ids := g.opts.Identities
		if len(ids) == 0 {
			// Keep going, so that the error names every file that needs
			// the identity, not only the first.
			if why := fmt.Sprintf("must be re-encrypted (%s), which needs an operator's identity", secrets.RecipientChange(md.Recipients, operators)); !g.pend(RootCAPath, why) {
				st.need = append(st.need, RootCAPath+": "+why)
			}
			return st, nil
		}
		re, err := sops.Reencrypt(prior, ids, sops.ReencryptOptions{Recipients: operators})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", RootCAPath, err)
		}
		st.rootFile = withHeader(re)
		g.tree.Reasons[RootCAPath] = "re-encrypted: " + secrets.RecipientChange(md.Recipients, operators)
	}
	// The same root imported again: its key is at hand.
	st.ca = g.opts.ImportRoot
	return st, nil
}

// priorHoldsRoot reports whether the prior tree already holds ca, encrypted
// to operators, so that importing it again rewrites nothing.
func (g *gen) priorHoldsRoot(ca *pki.CA, operators []string) bool {
	prior := g.opts.Prior[RootCAPath]
	var doc secrets.Doc
	if yaml.Unmarshal(prior, &doc) != nil || doc.StringData["ca-cert.pem"] != string(ca.CertPEM) {
		return false
	}
	md, err := sops.ReadMetadata(prior)
	return err == nil && slices.Equal(sortedCopy(md.Recipients), operators)
}

func (g *gen) newRootState(ca *pki.CA, why string) (*pkiState, error) {
	doc := secrets.RootDoc(ca)
	operators := append([]string(nil), g.inv.Mesh.Recipients...)
	sort.Strings(operators)
	file, err := g.encrypt(doc, operators)
	if err != nil {
		return nil, fmt.Errorf("encrypt root CA: %w", err)
	}
	g.tree.Reasons[RootCAPath] = why
	return &pkiState{root: ca.Cert, rootPEM: ca.CertPEM, bundle: g.bundleWith(ca.CertPEM), ca: ca, rootFile: file, created: true}, nil
}

// bundleWith returns the trust bundle: the signing root first, then the
// roots the prior bundle still trusts (kept through a rotation).
func (g *gen) bundleWith(rootPEM []byte) []byte {
	var out bytes.Buffer
	out.Write(rootPEM)
	for _, extra := range g.opts.TrustedRoots {
		if !bytes.Equal(bytes.TrimSpace(extra), bytes.TrimSpace(rootPEM)) {
			out.Write(extra)
		}
	}
	return out.Bytes()
}

// rootKey returns the root CA with its private key, decrypting it from the
// prior tree when needed.
func (st *pkiState) rootKey(ids []age.Identity) (*pki.CA, error) {
	if st.ca != nil {
		return st.ca, nil
	}
	doc, err := secrets.DecryptDoc(st.rootFile, ids)
	if err != nil {
		if secrets.IsDecode(err) {
			return nil, fmt.Errorf("%s: %w", RootCAPath, err)
		}
		return nil, fmt.Errorf("decrypt %s: %w", RootCAPath, err)
	}
	ca, err := pki.ImportRoot([]byte(doc.StringData["ca-cert.pem"]), []byte(doc.StringData["ca-key.pem"]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootCAPath, err)
	}
	st.ca = ca
	return ca, nil
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return slices.Compact(out)
}

// cacertsJob is the decision for one cluster's cacerts.
type cacertsJob struct {
	cluster    *inventory.Cluster
	recipients []string
	keep       []byte // the prior file, when it can stay as is
	reason     string // why it is (re)written
	reencrypt  bool   // only the recipients changed
	rebundle   bool   // only the trust bundle changed
	req        pki.IntermediateRequest
	until      time.Time         // when the kept intermediate falls due for renewal
	cert       *x509.Certificate // the prior intermediate, when readable
}

// planCacerts decides, per cluster, whether its cacerts is kept byte for
// byte, re-encrypted, re-bundled or re-issued, and why.
func (g *gen) planCacerts(st *pkiState) []*cacertsJob {
	m := g.inv.Mesh
	// An intermediate cannot be valid before its root.
	notBefore := g.opts.Now
	if st.root.NotBefore.After(notBefore) {
		notBefore = st.root.NotBefore
	}
	// Only clusters that run istiod get an intermediate: a remote's
	// workloads are signed by its primary's istiod. A remote's former
	// cacerts file is simply no longer generated, so it is removed.
	var jobs []*cacertsJob
	for _, tc := range g.topo.Clusters() {
		if !tc.NeedsCacerts() {
			continue
		}
		c := tc.Cluster
		jobs = append(jobs, &cacertsJob{cluster: c, recipients: g.topo.Cluster(c.Name).Recipients, req: pki.IntermediateRequest{
			Cluster:      c.Name,
			Organization: m.PKI.Intermediate.Organization,
			Algorithm:    pki.Algorithm(m.PKI.KeyAlgorithm),
			Validity:     m.PKI.Intermediate.Validity.Duration,
			NotBefore:    notBefore,
		}})
	}
	// Reading the prior files back is independent per cluster.
	pool.All(len(jobs), func(i int) { g.judgeCacerts(st, jobs[i]) })
	return jobs
}

// judgeCacerts decides what happens to one cluster's prior cacerts.
func (g *gen) judgeCacerts(st *pkiState, j *cacertsJob) {
	m := g.inv.Mesh
	prior, ok := g.opts.Prior[CacertsPath(j.cluster.Name)]
	if !ok {
		j.reason = "new cluster"
		return
	}
	// One decode gives the recipients and the plaintext certificates.
	pub, err := sops.ReadPublic(prior)
	if err != nil {
		j.reason = "existing file is not a SOPS file"
		return
	}
	certPEM, _ := pub.Plain("stringData", "ca-cert.pem")
	cert, err := secrets.ParseCertPEM([]byte(certPEM))
	if err != nil {
		j.reason = "existing certificate is unreadable"
		return
	}
	j.cert = cert
	j.until = cert.NotAfter.Add(-m.PKI.Intermediate.RenewBefore.Duration)
	if cert.NotAfter.Equal(st.root.NotAfter) {
		j.until = cert.NotAfter // capped by the root: nothing falls due before
	}
	if r := pki.ReissueReason(cert, st.root, j.req, m.PKI.Intermediate.RenewBefore.Duration, g.opts.Now); r != "" {
		j.reason = r
		return
	}
	md := &pub.Metadata
	if bundle, _ := pub.Plain("stringData", "root-cert.pem"); bundle != string(st.bundle) {
		j.reason, j.rebundle = "trust bundle changed", true
		return
	}
	if !slices.Equal(sortedCopy(md.Recipients), j.recipients) {
		j.reason, j.reencrypt = "re-encrypted: "+secrets.RecipientChange(md.Recipients, j.recipients), true
		return
	}
	if len(g.opts.Identities) > 0 {
		// With an identity at hand, a kept file must still decrypt: a
		// tampered or corrupted secret is replaced, never carried on.
		if _, err := sops.Decrypt(prior, g.opts.Identities); err != nil && !errors.Is(err, sops.ErrNoIdentity) {
			j.reason = "existing file fails its integrity check (tampered or corrupted)"
			return
		}
	}
	j.keep = prior
}

// issuedCacerts is the cacerts phase's result: every cluster's encrypted
// cacerts file, and its intermediate's NotAfter (for MESH.md).
type issuedCacerts struct {
	files  map[string][]byte
	expiry map[string]time.Time
}

// cacerts writes every cluster's cacerts secret, issuing in parallel what
// must be issued.
func (g *gen) cacerts(st *pkiState) (*issuedCacerts, error) {
	jobs := g.planCacerts(st)
	expiry := map[string]time.Time{}
	for _, j := range jobs {
		if j.keep != nil && (g.tree.StableUntil.IsZero() || j.until.Before(g.tree.StableUntil)) {
			g.tree.StableUntil = j.until
		}
	}
	out := map[string][]byte{}
	var need []string
	var issue []*cacertsJob
	for _, j := range jobs {
		switch {
		case j.keep != nil:
			out[j.cluster.Name] = j.keep
			expiry[j.cluster.Name] = j.cert.NotAfter
			continue
		case j.reencrypt || j.rebundle:
			if len(g.opts.Identities) == 0 {
				item := fmt.Sprintf("cluster %q: cacerts must be rewritten (%s), which needs an age identity that can decrypt it", j.cluster.Name, j.reason)
				if g.pend(CacertsPath(j.cluster.Name), item) {
					out[j.cluster.Name] = g.opts.Prior[CacertsPath(j.cluster.Name)]
					expiry[j.cluster.Name] = j.cert.NotAfter
				} else {
					need = append(need, item)
				}
				continue
			}
		default:
			if st.ca == nil && len(g.opts.Identities) == 0 {
				item := fmt.Sprintf("cluster %q: cacerts must be issued (%s), which needs the root key", j.cluster.Name, j.reason)
				if g.pend(CacertsPath(j.cluster.Name), item) {
					out[j.cluster.Name] = g.opts.Prior[CacertsPath(j.cluster.Name)] // nil for a new cluster
					if j.cert != nil {
						expiry[j.cluster.Name] = j.cert.NotAfter
					}
				} else {
					need = append(need, item)
				}
				continue
			}
			issue = append(issue, j)
		}
		g.tree.Reasons[CacertsPath(j.cluster.Name)] = j.reason
	}
	if need = append(st.need, need...); len(need) > 0 {
		return nil, &secrets.NeedIdentityError{Items: need}
	}
	for _, j := range jobs {
		if _, pending := g.tree.Pending[CacertsPath(j.cluster.Name)]; pending || !j.reencrypt && !j.rebundle {
			continue
		}
		data, err := g.rewriteCacerts(st, j)
		if err != nil {
			return nil, err
		}
		out[j.cluster.Name] = data
		expiry[j.cluster.Name] = j.cert.NotAfter // the same intermediate
	}
	if len(issue) > 0 {
		root, err := st.rootKey(g.opts.Identities)
		if err != nil {
			return nil, err
		}
		reqs := make([]pki.IntermediateRequest, len(issue))
		for i, j := range issue {
			reqs[i] = j.req
		}
		cas, err := pki.IssueAll(root, reqs, g.opts.Workers, g.opts.Progress)
		if err != nil {
			return nil, err
		}
		for i, j := range issue {
			data, err := g.encrypt(g.cacertsDoc(st, cas[i]), j.recipients)
			if err != nil {
				return nil, fmt.Errorf("cluster %q: encrypt cacerts: %w", j.cluster.Name, err)
			}
			out[j.cluster.Name] = data
			expiry[j.cluster.Name] = cas[i].Cert.NotAfter
		}
	}
	return &issuedCacerts{files: out, expiry: expiry}, nil
}

func (g *gen) cacertsDoc(st *pkiState, ca *pki.CA) *secrets.Doc {
	return secrets.CacertsDoc(ca, st.rootPEM, st.bundle, IstioNamespace)
}

// rewriteCacerts keeps a cluster's intermediate but rewrites its file: for
// new recipients (same data key, values untouched) or a new trust bundle.
func (g *gen) rewriteCacerts(st *pkiState, j *cacertsJob) ([]byte, error) {
	prior := g.opts.Prior[CacertsPath(j.cluster.Name)]
	body := bytes.TrimPrefix(prior, []byte(Header))
	if j.reencrypt {
		re, err := sops.Reencrypt(body, g.opts.Identities, sops.ReencryptOptions{Recipients: j.recipients})
		if err != nil {
			return nil, fmt.Errorf("cluster %q: re-encrypt cacerts: %w", j.cluster.Name, err)
		}
		return withHeader(re), nil
	}
	doc, err := secrets.DecryptDoc(body, g.opts.Identities)
	if err != nil {
		if secrets.IsDecode(err) {
			return nil, fmt.Errorf("cluster %q: cacerts: %w", j.cluster.Name, err)
		}
		return nil, fmt.Errorf("cluster %q: decrypt cacerts: %w", j.cluster.Name, err)
	}
	ca := &pki.CA{CertPEM: []byte(doc.StringData["ca-cert.pem"]), KeyPEM: []byte(doc.StringData["ca-key.pem"])}
	return g.encrypt(g.cacertsDoc(st, ca), j.recipients)
}

package secrets

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/meshgen/meshgen/generator/internal/pool"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
	"sigs.k8s.io/yaml"
)

// Layout is where the secrets a run reads and writes live in the output
// directory (the generator's layout).
type Layout struct {
	RootCA, RootCert string
	Cacerts          func(cluster string) string
	Credential       func(cluster string) string
	RemoteSecret     func(cluster, watched string) string
}

// Input is everything Issue reads.
type Input struct {
	Inv    *inventory.Inventory
	Topo   *topology.Mesh
	Layout Layout
	// Header is put in front of every file written; Namespace is Istio's.
	Header, Namespace string
	// Prior is the prior tree, verified (VerifyPrior); the rest are the
	// generator's Options of the same names.
	Prior        map[string][]byte
	Now          time.Time
	Identities   []age.Identity
	Workers      int
	Progress     func(done, total int)
	ImportRoot   *pki.CA
	TrustedRoots [][]byte
	Preview      bool
}

// Result is every secret file of a run, and why each changed.
type Result struct {
	Bundle   []byte // the trust bundle (pki/root-cert.pem without header)
	RootFile []byte // the root CA file as it will be written
	// Cacerts is each istiod cluster's encrypted cacerts, Expiry its
	// intermediate's NotAfter.
	Cacerts map[string][]byte
	Expiry  map[string]time.Time
	// Remote is, by watching cluster, its remote secret files by path.
	Remote map[string]map[string][]byte
	// Reasons, Pending and StableUntil are the tree's fields of the same
	// names, for the secret files.
	Reasons, Pending map[string]string
	StableUntil      time.Time
}

// Issue decides, for every secret of the mesh, whether its prior file is
// kept, re-encrypted, re-bundled or issued afresh, and does it: the root
// CA, each cluster's cacerts, then the remote secrets.
func Issue(in Input) (*Result, error) {
	r := &run{in: in, operators: SortedRecipients(in.Inv.Mesh.Recipients), res: &Result{Reasons: map[string]string{}, Pending: map[string]string{}}}
	st, err := r.rootState()
	if err != nil {
		return nil, err
	}
	cacerts, err := r.cacerts(st)
	if err != nil {
		return nil, err
	}
	remote, err := r.remoteSecrets()
	if err != nil {
		return nil, err
	}
	r.res.Bundle, r.res.RootFile = st.bundle, st.rootFile
	r.res.Cacerts, r.res.Expiry, r.res.Remote = cacerts.files, cacerts.expiry, remote
	return r.res, nil
}

type run struct {
	in Input
	// operators are mesh.recipients, sorted: the root CA's recipients.
	operators []string
	res       *Result
}

// pend records, in a preview, work on the file at p that needs an identity
// none was given for; the caller then keeps the prior file. Outside a
// preview it does nothing and reports false: the work is an error.
func (r *run) pend(p, item string) bool {
	if !r.in.Preview {
		return false
	}
	r.res.Pending[p] = item
	return true
}

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

func (r *run) encrypt(doc any, recipients []string) ([]byte, error) {
	return r.encryptWith(doc, recipients, KeyFieldRegex)
}

func (r *run) encryptWith(doc any, recipients []string, regex string) ([]byte, error) {
	enc, err := Encrypt(doc, recipients, regex, r.in.Now)
	if err != nil {
		return nil, err
	}
	return r.withHeader(enc), nil
}

// withHeader puts the generated-file header on a SOPS file; sops keeps
// comments out of the MAC, so the header never affects decryption.
func (r *run) withHeader(b []byte) []byte {
	if bytes.HasPrefix(b, []byte(r.in.Header)) {
		return b
	}
	return append([]byte(r.in.Header), b...)
}

// rootState loads the root from the prior tree, imports one, or creates one.
func (r *run) rootState() (*pkiState, error) {
	m := r.in.Inv.Mesh
	operators := r.operators
	if imp := r.in.ImportRoot; imp != nil && !r.priorHoldsRoot(imp, operators) {
		return r.newRootState(imp, "root imported")
	}
	prior, ok := r.in.Prior[r.in.Layout.RootCA]
	if !ok {
		if _, hasCert := r.in.Prior[r.in.Layout.RootCert]; hasCert {
			return nil, fmt.Errorf("%s exists but %s does not: the root key is gone; restore it from Git history, or import a root with --root-cert/--root-key (every intermediate is then re-issued)", r.in.Layout.RootCert, r.in.Layout.RootCA)
		}
		ca, err := pki.NewRoot(pki.RootRequest{
			CommonName:   m.PKI.Root.CommonName,
			Organization: m.PKI.Root.Organization,
			Algorithm:    pki.Algorithm(m.PKI.KeyAlgorithm),
			Validity:     m.PKI.Root.Validity.Duration,
			NotBefore:    r.in.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("create root CA: %w", err)
		}
		return r.newRootState(ca, "root created")
	}
	var doc Doc
	if err := yaml.Unmarshal(prior, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", r.in.Layout.RootCA, err)
	}
	certPEM := []byte(doc.StringData["ca-cert.pem"])
	root, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: ca-cert.pem: %w", r.in.Layout.RootCA, err)
	}
	st := &pkiState{root: root, rootPEM: certPEM, bundle: r.bundleWith(certPEM), rootFile: prior}
	md, err := sops.ReadMetadata(prior)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.in.Layout.RootCA, err)
	}
	if !slices.Equal(SortedRecipients(md.Recipients), operators) {
		ids := r.in.Identities
		if len(ids) == 0 {
			// Keep going, so that the error names every file that needs
			// the identity, not only the first.
			if why := fmt.Sprintf("must be re-encrypted (%s), which needs an operator's identity", RecipientChange(md.Recipients, operators)); !r.pend(r.in.Layout.RootCA, why) {
				st.need = append(st.need, r.in.Layout.RootCA+": "+why)
			}
			return st, nil
		}
		re, err := sops.Reencrypt(prior, ids, sops.ReencryptOptions{Recipients: operators})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.in.Layout.RootCA, err)
		}
		st.rootFile = r.withHeader(re)
		r.res.Reasons[r.in.Layout.RootCA] = "re-encrypted: " + RecipientChange(md.Recipients, operators)
	}
	// The same root imported again: its key is at hand.
	st.ca = r.in.ImportRoot
	return st, nil
}

// priorHoldsRoot reports whether the prior tree already holds ca, encrypted
// to operators, so that importing it again rewrites nothing.
func (r *run) priorHoldsRoot(ca *pki.CA, operators []string) bool {
	prior := r.in.Prior[r.in.Layout.RootCA]
	var doc Doc
	if yaml.Unmarshal(prior, &doc) != nil || doc.StringData["ca-cert.pem"] != string(ca.CertPEM) {
		return false
	}
	md, err := sops.ReadMetadata(prior)
	return err == nil && slices.Equal(SortedRecipients(md.Recipients), operators)
}

func (r *run) newRootState(ca *pki.CA, why string) (*pkiState, error) {
	file, err := r.encrypt(RootDoc(ca), r.operators)
	if err != nil {
		return nil, fmt.Errorf("encrypt root CA: %w", err)
	}
	r.res.Reasons[r.in.Layout.RootCA] = why
	return &pkiState{root: ca.Cert, rootPEM: ca.CertPEM, bundle: r.bundleWith(ca.CertPEM), ca: ca, rootFile: file, created: true}, nil
}

// bundleWith returns the trust bundle: the signing root first, then the
// roots the prior bundle still trusts (kept through a rotation).
func (r *run) bundleWith(rootPEM []byte) []byte {
	var out bytes.Buffer
	out.Write(rootPEM)
	for _, extra := range r.in.TrustedRoots {
		if !bytes.Equal(bytes.TrimSpace(extra), bytes.TrimSpace(rootPEM)) {
			out.Write(extra)
		}
	}
	return out.Bytes()
}

// rootKey returns the root CA with its private key, decrypting it from the
// prior tree when needed.
func (r *run) rootKey(st *pkiState) (*pki.CA, error) {
	if st.ca != nil {
		return st.ca, nil
	}
	doc, err := DecryptDoc(st.rootFile, r.in.Identities)
	if err != nil {
		if IsDecode(err) {
			return nil, fmt.Errorf("%s: %w", r.in.Layout.RootCA, err)
		}
		return nil, fmt.Errorf("decrypt %s: %w", r.in.Layout.RootCA, err)
	}
	ca, err := pki.ImportRoot([]byte(doc.StringData["ca-cert.pem"]), []byte(doc.StringData["ca-key.pem"]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.in.Layout.RootCA, err)
	}
	st.ca = ca
	return ca, nil
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
func (r *run) planCacerts(st *pkiState) []*cacertsJob {
	m := r.in.Inv.Mesh
	// An intermediate cannot be valid before its root.
	notBefore := r.in.Now
	if st.root.NotBefore.After(notBefore) {
		notBefore = st.root.NotBefore
	}
	// Only clusters that run istiod get an intermediate: a remote's
	// workloads are signed by its primary's istiod. A remote's former
	// cacerts file is simply no longer generated, so it is removed.
	var jobs []*cacertsJob
	for _, tc := range r.in.Topo.Clusters() {
		if !tc.NeedsCacerts() {
			continue
		}
		c := tc.Cluster
		jobs = append(jobs, &cacertsJob{cluster: c, recipients: tc.Recipients, req: pki.IntermediateRequest{
			Cluster:      c.Name,
			Organization: m.PKI.Intermediate.Organization,
			Algorithm:    pki.Algorithm(m.PKI.KeyAlgorithm),
			Validity:     m.PKI.Intermediate.Validity.Duration,
			NotBefore:    notBefore,
		}})
	}
	// Reading the prior files back is independent per cluster.
	pool.All(len(jobs), func(i int) { r.judgeCacerts(st, jobs[i]) })
	return jobs
}

// judgeCacerts decides what happens to one cluster's prior cacerts.
func (r *run) judgeCacerts(st *pkiState, j *cacertsJob) {
	m := r.in.Inv.Mesh
	prior, ok := r.in.Prior[r.in.Layout.Cacerts(j.cluster.Name)]
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
	cert, err := ParseCertPEM([]byte(certPEM))
	if err != nil {
		j.reason = "existing certificate is unreadable"
		return
	}
	j.cert = cert
	j.until = cert.NotAfter.Add(-m.PKI.Intermediate.RenewBefore.Duration)
	if cert.NotAfter.Equal(st.root.NotAfter) {
		j.until = cert.NotAfter // capped by the root: nothing falls due before
	}
	if r := pki.ReissueReason(cert, st.root, j.req, m.PKI.Intermediate.RenewBefore.Duration, r.in.Now); r != "" {
		j.reason = r
		return
	}
	md := &pub.Metadata
	if bundle, _ := pub.Plain("stringData", "root-cert.pem"); bundle != string(st.bundle) {
		j.reason, j.rebundle = "trust bundle changed", true
		return
	}
	if !slices.Equal(SortedRecipients(md.Recipients), j.recipients) {
		j.reason, j.reencrypt = "re-encrypted: "+RecipientChange(md.Recipients, j.recipients), true
		return
	}
	// A tampered or corrupted file is not in the verified prior tree
	// (VerifyPrior): it was replaced, never carried on.
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
func (r *run) cacerts(st *pkiState) (*issuedCacerts, error) {
	jobs := r.planCacerts(st)
	expiry := map[string]time.Time{}
	out := map[string][]byte{}
	var need []string
	var rewrite, issue []*cacertsJob
	for _, j := range jobs {
		switch {
		case j.keep != nil:
			out[j.cluster.Name] = j.keep
			expiry[j.cluster.Name] = j.cert.NotAfter
			if r.res.StableUntil.IsZero() || j.until.Before(r.res.StableUntil) {
				r.res.StableUntil = j.until
			}
			continue
		case j.reencrypt || j.rebundle:
			if len(r.in.Identities) == 0 {
				item := fmt.Sprintf("cluster %q: cacerts must be rewritten (%s), which needs an age identity that can decrypt it", j.cluster.Name, j.reason)
				if r.pend(r.in.Layout.Cacerts(j.cluster.Name), item) {
					out[j.cluster.Name] = r.in.Prior[r.in.Layout.Cacerts(j.cluster.Name)]
					expiry[j.cluster.Name] = j.cert.NotAfter
				} else {
					need = append(need, item)
				}
				continue
			}
			rewrite = append(rewrite, j)
		default:
			if st.ca == nil && len(r.in.Identities) == 0 {
				item := fmt.Sprintf("cluster %q: cacerts must be issued (%s), which needs the root key", j.cluster.Name, j.reason)
				if r.pend(r.in.Layout.Cacerts(j.cluster.Name), item) {
					out[j.cluster.Name] = r.in.Prior[r.in.Layout.Cacerts(j.cluster.Name)] // nil for a new cluster
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
		r.res.Reasons[r.in.Layout.Cacerts(j.cluster.Name)] = j.reason
	}
	if need = append(st.need, need...); len(need) > 0 {
		return nil, &NeedIdentityError{Items: need}
	}
	for _, j := range rewrite {
		data, err := r.rewriteCacerts(st, j)
		if err != nil {
			return nil, err
		}
		out[j.cluster.Name] = data
		expiry[j.cluster.Name] = j.cert.NotAfter // the same intermediate
	}
	if len(issue) > 0 {
		root, err := r.rootKey(st)
		if err != nil {
			return nil, err
		}
		reqs := make([]pki.IntermediateRequest, len(issue))
		for i, j := range issue {
			reqs[i] = j.req
		}
		cas, err := pki.IssueAll(root, reqs, r.in.Workers, r.in.Progress)
		if err != nil {
			return nil, err
		}
		for i, j := range issue {
			data, err := r.encrypt(r.cacertsDoc(st, cas[i]), j.recipients)
			if err != nil {
				return nil, fmt.Errorf("cluster %q: encrypt cacerts: %w", j.cluster.Name, err)
			}
			out[j.cluster.Name] = data
			expiry[j.cluster.Name] = cas[i].Cert.NotAfter
		}
	}
	return &issuedCacerts{files: out, expiry: expiry}, nil
}

func (r *run) cacertsDoc(st *pkiState, ca *pki.CA) *Doc {
	return CacertsDoc(ca, st.rootPEM, st.bundle, r.in.Namespace)
}

// rewriteCacerts keeps a cluster's intermediate but rewrites its file: for
// new recipients (same data key, values untouched) or a new trust bundle.
func (r *run) rewriteCacerts(st *pkiState, j *cacertsJob) ([]byte, error) {
	prior := r.in.Prior[r.in.Layout.Cacerts(j.cluster.Name)]
	body := bytes.TrimPrefix(prior, []byte(r.in.Header))
	if j.reencrypt {
		re, err := sops.Reencrypt(body, r.in.Identities, sops.ReencryptOptions{Recipients: j.recipients})
		if err != nil {
			return nil, fmt.Errorf("cluster %q: re-encrypt cacerts: %w", j.cluster.Name, err)
		}
		return r.withHeader(re), nil
	}
	doc, err := DecryptDoc(body, r.in.Identities)
	if err != nil {
		if IsDecode(err) {
			return nil, fmt.Errorf("cluster %q: cacerts: %w", j.cluster.Name, err)
		}
		return nil, fmt.Errorf("cluster %q: decrypt cacerts: %w", j.cluster.Name, err)
	}
	ca := &pki.CA{CertPEM: []byte(doc.StringData["ca-cert.pem"]), KeyPEM: []byte(doc.StringData["ca-key.pem"])}
	return r.encrypt(r.cacertsDoc(st, ca), j.recipients)
}

// remoteSecrets returns, by watching primary, the remote secret files it
// gets, keyed by path.
func (r *run) remoteSecrets() (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	var need, missing []string
	watchers := r.in.Topo.Watched()
	for _, watched := range slices.Sorted(maps.Keys(watchers)) {
		ws := watchers[watched]
		c := r.in.Topo.Cluster(watched).Cluster
		credFile, ok := r.in.Prior[r.in.Layout.Credential(watched)]
		if !ok {
			missing = append(missing, fmt.Sprintf("cluster %q: no stored API credential (%s), needed by the istiod of %s to discover its endpoints; store it with: meshgen credentials set %s --token-file TOKEN --ca-file CA", watched, r.in.Layout.Credential(watched), strings.Join(ws, ", "), watched))
			continue
		}
		fp, err := Fingerprint(credFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.in.Layout.Credential(watched), err)
		}
		var cred *Credential
		for _, w := range ws {
			p := r.in.Layout.RemoteSecret(w, watched)
			recipients := r.in.Topo.Cluster(w).Recipients
			if prior, ok := r.in.Prior[p]; ok && RemoteSecretCurrent(prior, c.APIServer, fp, recipients) {
				put(out, w, p, prior)
				continue
			}
			if cred == nil {
				if len(r.in.Identities) == 0 {
					item := fmt.Sprintf("cluster %q: remote secret for %s must be written, which needs an operator's identity to read its stored credential", w, watched)
					if r.pend(p, item) {
						put(out, w, p, r.in.Prior[p]) // nil for a new one
					} else {
						need = append(need, item)
					}
					continue
				}
				if cred, err = r.decryptCredential(watched, credFile); err != nil {
					return nil, err
				}
			}
			data, err := r.encryptRemoteSecret(cred, c, fp, recipients)
			if err != nil {
				return nil, err
			}
			r.res.Reasons[p] = "remote secret for " + watched + " (credential or API server changed)"
			put(out, w, p, data)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingCredentialError{Items: missing}
	}
	if len(need) > 0 {
		return nil, &NeedIdentityError{Items: need}
	}
	return out, nil
}

func put(m map[string]map[string][]byte, k, p string, data []byte) {
	if m[k] == nil {
		m[k] = map[string][]byte{}
	}
	m[k][p] = data
}

func (r *run) decryptCredential(cluster string, file []byte) (*Credential, error) {
	doc, err := DecryptDoc(file, r.in.Identities)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.in.Layout.Credential(cluster), err)
	}
	return CredentialOf(cluster, doc), nil
}

func (r *run) encryptRemoteSecret(cred *Credential, c *inventory.Cluster, fp string, recipients []string) ([]byte, error) {
	doc, err := RemoteSecretDoc(cred, c.Name, c.APIServer, fp, r.in.Namespace)
	if err != nil {
		return nil, err
	}
	return r.encryptWith(doc, recipients, RemoteSecretRegex)
}

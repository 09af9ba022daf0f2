package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudflare/cfssl/config"
	"github.com/cloudflare/cfssl/csr"
	"github.com/cloudflare/cfssl/signer"
	"github.com/cloudflare/cfssl/signer/local"

	"github.com/meshgen/meshgen/generator/internal/pool"
)

// Subject and SAN of every intermediate, as Istio's plug-in CA guide
// creates them.
const (
	IntermediateCommonName = "Intermediate CA"
	IstiodDNSName          = "istiod.istio-system.svc"
)

// intermediateProfile is the cfssl signing profile for cluster
// intermediates: a CA that may sign only end-entity certificates.
const intermediateProfile = "intermediate"

var intermediateUsages = []string{"cert sign", "crl sign", "digital signature"}

// IntermediateRequest describes one cluster's intermediate CA.
type IntermediateRequest struct {
	// Cluster becomes the subject's L (locality), naming the cluster.
	Cluster string
	// Organization becomes the subject's O.
	Organization string
	// Algorithm is the key algorithm; "" means DefaultAlgorithm.
	Algorithm Algorithm
	// Validity is how long the intermediate is valid, capped at the root's
	// NotAfter; 0 means DefaultIntermediateValidity.
	Validity time.Duration
	// NotBefore is the start of validity, from the caller's clock. Required.
	NotBefore time.Time
}

func (r IntermediateRequest) validity() time.Duration {
	if r.Validity == 0 {
		return DefaultIntermediateValidity
	}
	return r.Validity
}

// window is the validity the request asks for under root, both in the
// second precision certificates carry.
func (r IntermediateRequest) window(root *x509.Certificate) (notBefore, notAfter time.Time) {
	notBefore = r.NotBefore.UTC().Truncate(time.Second)
	notAfter = notBefore.Add(r.validity())
	if root != nil && root.NotAfter.Before(notAfter) {
		notAfter = root.NotAfter.UTC()
	}
	return notBefore, notAfter
}

// IssueIntermediate creates a key with cfssl and signs an intermediate CA
// for req.Cluster with root: CA:TRUE with pathlen 0, key usage cert sign,
// CRL sign and digital signature, subject O=<org>, CN=Intermediate CA,
// L=<cluster>, and the SAN DNS name istiod.istio-system.svc.
func IssueIntermediate(root *CA, req IntermediateRequest) (*CA, error) {
	if err := checkRequest(root, req); err != nil {
		return nil, fmt.Errorf("pki: intermediate for cluster %q: %w", req.Cluster, err)
	}
	ca, err := issue(root, req)
	if err != nil {
		return nil, fmt.Errorf("pki: intermediate for cluster %q: %w", req.Cluster, err)
	}
	return ca, nil
}

func checkRequest(root *CA, req IntermediateRequest) error {
	switch {
	case root == nil || root.Cert == nil:
		return errors.New("no root CA")
	case req.Cluster == "":
		return errors.New("request: Cluster is empty")
	case req.Organization == "":
		return errors.New("request: Organization is empty")
	case req.NotBefore.IsZero():
		return errors.New("request: NotBefore is zero; pass the caller's clock")
	case req.Validity < 0:
		return errors.New("request: Validity is negative")
	case root.Cert.MaxPathLen == 0 && root.Cert.MaxPathLenZero:
		return errors.New("the root has pathlen 0 and cannot sign intermediate CAs")
	}
	if _, notAfter := req.window(root.Cert); !notAfter.After(req.NotBefore) {
		return fmt.Errorf("the root expires %s, before the intermediate would start", root.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	return nil
}

func issue(root *CA, req IntermediateRequest) (*CA, error) {
	kr, err := req.Algorithm.keyRequest()
	if err != nil {
		return nil, err
	}
	rootKey, err := parseKey(root.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	csrPEM, keyPEM, err := csr.ParseRequest(&csr.CertificateRequest{
		CN:         IntermediateCommonName,
		Names:      []csr.Name{{O: req.Organization, L: req.Cluster}},
		Hosts:      []string{IstiodDNSName},
		KeyRequest: kr,
		CA:         &csr.CAConfig{PathLength: 0, PathLenZero: true},
	})
	if err != nil {
		return nil, fmt.Errorf("cfssl csr: %w", err)
	}
	// cfssl drops DNS SANs from CA certificates (signer.FillTemplate), but
	// Istio's plug-in CA layout puts istiod's name on the intermediate, so
	// the SAN goes in as an explicitly whitelisted extension instead.
	san, err := sanExtension(IstiodDNSName)
	if err != nil {
		return nil, err
	}
	profile := &config.SigningProfile{
		ExtensionWhitelist: map[string]bool{oidSubjectAltName.String(): true},
		Usage:              intermediateUsages,
		Expiry:             req.validity(),
		ExpiryString:       req.validity().String(),
		CAConstraint:       config.CAConstraint{IsCA: true, MaxPathLen: 0, MaxPathLenZero: true},
	}
	policy := &config.Signing{
		Default:  profile,
		Profiles: map[string]*config.SigningProfile{intermediateProfile: profile},
	}
	s, err := local.NewSigner(rootKey, root.Cert, signer.DefaultSigAlgo(rootKey), policy)
	if err != nil {
		return nil, fmt.Errorf("cfssl signer: %w", err)
	}
	notBefore, notAfter := req.window(root.Cert)
	certPEM, err := s.Sign(signer.SignRequest{
		Request:    string(csrPEM),
		Profile:    intermediateProfile,
		Extensions: []signer.Extension{san},
		NotBefore:  notBefore,
		NotAfter:   notAfter,
	})
	if err != nil {
		return nil, fmt.Errorf("cfssl sign: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert}, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// sanExtension encodes a subjectAltName extension with one dNSName.
func sanExtension(dnsName string) (signer.Extension, error) {
	der, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(dnsName)}})
	if err != nil {
		return signer.Extension{}, err
	}
	return signer.Extension{ID: config.OID(oidSubjectAltName), Value: hex.EncodeToString(der)}, nil
}

// IssueAll issues the intermediates for reqs on up to workers goroutines
// (GOMAXPROCS when workers <= 0) and returns them in request order. Key
// generation dominates, so this scales with cores. progress, if not nil, is
// called after each certificate, never concurrently. The first error stops
// further work and is returned.
func IssueAll(root *CA, reqs []IntermediateRequest, workers int, progress func(done, total int)) ([]*CA, error) {
	out := make([]*CA, len(reqs))
	var (
		mu   sync.Mutex
		done int
	)
	err := pool.Each(len(reqs), workers, func(i int) error {
		ca, err := IssueIntermediate(root, reqs[i])
		if err != nil {
			return err
		}
		out[i] = ca
		mu.Lock()
		defer mu.Unlock()
		done++
		if progress != nil {
			progress(done, len(reqs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

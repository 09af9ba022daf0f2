package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/cloudflare/cfssl/helpers"
	cflog "github.com/cloudflare/cfssl/log"
	"github.com/cloudflare/cfssl/signer"
)

func init() {
	// cfssl logs every signature at Info level through a global logger.
	// meshgen reports what it does itself, so only fatal messages remain.
	cflog.Level = cflog.LevelFatal
}

// CA is a certificate authority: its certificate and private key.
type CA struct {
	// CertPEM is the PEM-encoded certificate.
	CertPEM []byte
	// KeyPEM is the PEM-encoded private key. It lives only in memory; the
	// generator writes it nowhere but into a SOPS-encrypted file.
	KeyPEM []byte
	// Cert is CertPEM parsed.
	Cert *x509.Certificate
}

// Default validities, used when a request leaves Validity zero.
const (
	DefaultRootValidity         = 10 * 365 * 24 * time.Hour
	DefaultIntermediateValidity = 365 * 24 * time.Hour
)

// RootRequest describes a new root CA.
type RootRequest struct {
	// CommonName is the root's subject CN, e.g. "meshgen root CA".
	CommonName string
	// Organization is the root's subject O.
	Organization string
	// Algorithm is the key algorithm; "" means DefaultAlgorithm.
	Algorithm Algorithm
	// Validity is how long the root is valid; 0 means DefaultRootValidity.
	Validity time.Duration
	// NotBefore is the start of validity, from the caller's clock. Required.
	NotBefore time.Time
}

// NewRoot creates a self-signed root CA: a fresh key from the crypto
// libraries, CA:TRUE without a path length limit, key usage cert sign and
// CRL sign, valid from req.NotBefore (the caller's clock, to the second)
// for req.Validity. Only the key, serial and signature are random.
func NewRoot(req RootRequest) (*CA, error) {
	switch {
	case req.CommonName == "":
		return nil, errors.New("pki: root: CommonName is empty")
	case req.NotBefore.IsZero():
		return nil, errors.New("pki: root: NotBefore is zero; pass the caller's clock")
	case req.Validity < 0:
		return nil, errors.New("pki: root: Validity is negative")
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultRootValidity
	}
	key, keyPEM, err := req.Algorithm.newKey()
	if err != nil {
		return nil, fmt.Errorf("pki: root: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("pki: root: %w", err)
	}
	subject := pkix.Name{CommonName: req.CommonName}
	if req.Organization != "" {
		subject.Organization = []string{req.Organization}
	}
	notBefore := req.NotBefore.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		SignatureAlgorithm:    signer.DefaultSigAlgo(key),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: root: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: root: %w", err)
	}
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert}, nil
}

// newSerial is a random positive 159-bit serial number (RFC 5280 allows at
// most 20 octets).
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 159)
	return rand.Int(rand.Reader, limit)
}

// ImportRoot brings an existing root CA: certPEM must hold a self-signed
// CA certificate that may sign intermediate CAs, and keyPEM its private key
// (PKCS #1, PKCS #8 or SEC 1).
func ImportRoot(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: import root: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, errors.New("pki: import root: certificate is not a CA (basicConstraints CA:TRUE missing)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("pki: import root: certificate lacks the certificate-signing key usage")
	}
	if cert.MaxPathLen == 0 && cert.MaxPathLenZero {
		return nil, errors.New("pki: import root: certificate has pathlen 0 and cannot sign intermediate CAs")
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, errors.New("pki: import root: certificate is not self-signed")
	}
	if err := KeyMatches(cert, keyPEM); err != nil {
		return nil, fmt.Errorf("pki: import root: %w", err)
	}
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert}, nil
}

// KeyMatches reports whether keyPEM is the private key of cert. Errors
// never contain the key.
func KeyMatches(cert *x509.Certificate, keyPEM []byte) error {
	key, err := parseKey(keyPEM)
	if err != nil {
		return err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return errors.New("private key does not match the certificate")
	}
	return nil
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	if b, _ := pem.Decode(keyPEM); b == nil {
		return nil, errors.New("private key is not PEM")
	}
	key, err := helpers.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		// cfssl's message is generic, but do not risk quoting input.
		return nil, errors.New("private key is not a PKCS #1, PKCS #8 or SEC 1 key")
	}
	return key, nil
}

// parseCert parses the first certificate in certPEM.
func parseCert(certPEM []byte) (*x509.Certificate, error) {
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing certificate: %w", err)
			}
			return cert, nil
		}
	}
}

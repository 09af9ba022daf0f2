package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/cloudflare/cfssl/csr"
)

// Algorithm names a CA key algorithm as written in the inventory.
type Algorithm string

// The supported algorithms. ECDSA P-256 is the default: it is what Istio's
// own tooling generates and keeps istiod's signing fast.
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	ECDSAP384 Algorithm = "ecdsa-p384"
	RSA2048   Algorithm = "rsa-2048"
	RSA3072   Algorithm = "rsa-3072"
	RSA4096   Algorithm = "rsa-4096"
)

// DefaultAlgorithm is used when a request leaves Algorithm empty.
const DefaultAlgorithm = ECDSAP256

// Algorithms lists the supported algorithms in a stable order.
var Algorithms = []Algorithm{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// AlgorithmNames are the inventory spellings of Algorithms, in the same
// order: the one list that validation and the inventory schema use.
func AlgorithmNames() []string {
	names := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		names[i] = string(a)
	}
	return names
}

// ParseKeyAlgorithm parses an inventory algorithm name; "" gives the default.
func ParseKeyAlgorithm(s string) (Algorithm, error) {
	if s == "" {
		return DefaultAlgorithm, nil
	}
	for _, a := range Algorithms {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown key algorithm %q (want one of %s)", s, strings.Join(AlgorithmNames(), ", "))
}

func (a Algorithm) orDefault() Algorithm {
	if a == "" {
		return DefaultAlgorithm
	}
	return a
}

// keyRequest is the cfssl form of a.
func (a Algorithm) keyRequest() (*csr.KeyRequest, error) {
	switch a.orDefault() {
	case ECDSAP256:
		return &csr.KeyRequest{A: "ecdsa", S: 256}, nil
	case ECDSAP384:
		return &csr.KeyRequest{A: "ecdsa", S: 384}, nil
	case RSA2048:
		return &csr.KeyRequest{A: "rsa", S: 2048}, nil
	case RSA3072:
		return &csr.KeyRequest{A: "rsa", S: 3072}, nil
	case RSA4096:
		return &csr.KeyRequest{A: "rsa", S: 4096}, nil
	}
	_, err := ParseKeyAlgorithm(string(a))
	return nil, err
}

// newKey generates a key of algorithm a with the crypto libraries and
// returns it with its PEM form: SEC 1 for ECDSA, PKCS #1 for RSA, as cfssl
// writes them.
func (a Algorithm) newKey() (crypto.Signer, []byte, error) {
	var key crypto.Signer
	var block *pem.Block
	switch a.orDefault() {
	case ECDSAP256, ECDSAP384:
		curve := elliptic.P256()
		if a.orDefault() == ECDSAP384 {
			curve = elliptic.P384()
		}
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, nil, err
		}
		key, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case RSA2048, RSA3072, RSA4096:
		bits := map[Algorithm]int{RSA2048: 2048, RSA3072: 3072, RSA4096: 4096}[a]
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, nil, err
		}
		key, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		_, err := ParseKeyAlgorithm(string(a))
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(block), nil
}

// AlgorithmOf returns the algorithm of cert's public key, or "" when it is
// not one of the supported algorithms.
func AlgorithmOf(cert *x509.Certificate) Algorithm {
	if cert == nil {
		return ""
	}
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256
		case elliptic.P384():
			return ECDSAP384
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048
		case 3072:
			return RSA3072
		case 4096:
			return RSA4096
		}
	}
	return ""
}

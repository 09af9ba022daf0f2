package secrets

import (
	"sigs.k8s.io/yaml"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/sops"
)

// RootDoc is the document of the root CA file: the root certificate and
// its key, for the operators only.
func RootDoc(ca *pki.CA) *Doc {
	return secret(Meta{Name: "meshgen-root-ca", Annotations: map[string]string{
		"meshgen.dev/purpose": "the mesh root CA; never applied to a cluster",
	}}, "", map[string]string{"ca-cert.pem": string(ca.CertPEM), "ca-key.pem": string(ca.KeyPEM)})
}

// CacertsDoc is the cacerts Secret istiod reads in namespace: the
// intermediate ca with its chain up to rootPEM, and the trust bundle.
func CacertsDoc(ca *pki.CA, rootPEM, bundle []byte, namespace string) *Doc {
	chain := append(append([]byte(nil), ca.CertPEM...), rootPEM...)
	return secret(Meta{Name: "cacerts", Namespace: namespace}, "Opaque", map[string]string{
		"ca-cert.pem":    string(ca.CertPEM),
		"ca-key.pem":     string(ca.KeyPEM),
		"cert-chain.pem": string(chain),
		"root-cert.pem":  string(bundle),
	})
}

// DecryptDoc decrypts a secret file and decodes its document.
func DecryptDoc(file []byte, ids []age.Identity) (*Doc, error) {
	plain, err := sops.Decrypt(file, ids)
	if err != nil {
		return nil, err
	}
	var doc Doc
	if err := yaml.Unmarshal(plain, &doc); err != nil {
		return nil, errDecode{err}
	}
	return &doc, nil
}

// errDecode is a decrypted document that is not a Secret.
type errDecode struct{ error }

// IsDecode reports whether err came from decoding a decrypted document
// rather than from decrypting it.
func IsDecode(err error) bool {
	_, ok := err.(errDecode)
	return ok
}

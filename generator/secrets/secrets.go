// Package secrets is every secret meshgen writes or reads: the root CA
// file, each istiod cluster's cacerts, stored API credentials and remote
// secrets. Issue decides, per secret, whether the prior file is kept,
// re-encrypted, re-bundled or issued afresh (with pki's renewal rule) and
// returns the files with the reasons; Encrypt is the one way they are
// encrypted; VerifyPrior checks prior secrets before any is kept. It imports
// no part of the generator: the layout's paths and the generated-file header
// come in through Input.
package secrets

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/sops"
)

// The fields SOPS encrypts in each kind of secret meshgen writes.
const (
	// KeyFieldRegex selects the private key of cacerts and the root CA file.
	KeyFieldRegex = `^(ca-key\.pem)$`
	// RemoteSecretRegex selects the kubeconfig of a remote secret.
	RemoteSecretRegex = `^(stringData)$`
	// CredentialRegex selects the token of a stored credential.
	CredentialRegex = `^(token)$`
)

// Doc is the plaintext view of a SOPS-encrypted Secret: what can be read
// from a meshgen secret file without any identity.
type Doc struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   Meta              `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	StringData map[string]string `json:"stringData"`
}

// Meta is the part of a Secret's metadata meshgen sets.
type Meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func secret(meta Meta, typ string, data map[string]string) *Doc {
	return &Doc{APIVersion: "v1", Kind: "Secret", Metadata: meta, Type: typ, StringData: data}
}

// Encrypt is the one way meshgen encrypts a document: the values under keys
// matching regex, to recipients (sorted, de-duplicated), with a MAC over
// the encrypted values only (kustomize rewrites the rest before Flux or
// KSOPS decrypt). The caller puts its generated-file header in front.
func Encrypt(doc any, recipients []string, regex string, now time.Time) ([]byte, error) {
	plain, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return sops.Encrypt(plain, sops.EncryptOptions{
		Recipients:       SortedRecipients(recipients),
		EncryptedRegex:   regex,
		MACOnlyEncrypted: true,
		Now:              now,
	})
}

// SortedRecipients returns recipients sorted and de-duplicated: the order
// meshgen writes and compares them in.
func SortedRecipients(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return slices.Compact(out)
}

// RecipientDiff lists the recipients want adds to have, and those it drops.
func RecipientDiff(have, want []string) (added, removed []string) {
	for _, r := range want {
		if !slices.Contains(have, r) {
			added = append(added, r)
		}
	}
	for _, r := range have {
		if !slices.Contains(want, r) {
			removed = append(removed, r)
		}
	}
	return added, removed
}

// RecipientChange describes the change from have to want for a reviewer:
// "recipient added X; recipient removed Y".
func RecipientChange(have, want []string) string {
	added, removed := RecipientDiff(have, want)
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "recipient added "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "recipient removed "+strings.Join(removed, ", "))
	}
	return strings.Join(parts, "; ")
}

// ParseCertPEM parses the first PEM block of data as a certificate.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// NeedIdentityError lists work that needs a private key meshgen can only
// reach through an age identity, when none (or no matching one) was given.
type NeedIdentityError struct {
	Items []string // "cluster \"a\": cacerts must be re-issued (why)"
}

func (e *NeedIdentityError) Error() string {
	return strings.Join(e.Items, "\n")
}

// MissingCredentialError lists clusters whose API credential discovery
// needs but nobody stored.
type MissingCredentialError struct{ Items []string }

func (e *MissingCredentialError) Error() string { return strings.Join(e.Items, "\n") }

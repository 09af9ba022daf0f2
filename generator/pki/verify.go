package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Verify checks that ca is a usable cluster intermediate: its certificate
// chains to one of roots (several during a root rotation), its key matches,
// and it is a CA with pathlen 0 that may sign certificates. The chain is
// checked as of the certificate's NotBefore, so the result does not depend
// on the wall clock; expiry is ReissueReason's concern.
func Verify(roots []*x509.Certificate, ca *CA) error {
	if ca == nil || ca.Cert == nil {
		return errors.New("pki: verify: no certificate")
	}
	cert := ca.Cert
	if len(ca.CertPEM) > 0 {
		parsed, err := parseCert(ca.CertPEM)
		if err != nil {
			return fmt.Errorf("pki: verify: %w", err)
		}
		if !bytes.Equal(parsed.Raw, cert.Raw) {
			return errors.New("pki: verify: CertPEM and Cert differ")
		}
	}
	if err := CheckIntermediateCA(cert); err != nil {
		return fmt.Errorf("pki: verify: %w", err)
	}
	if err := KeyMatches(cert, ca.KeyPEM); err != nil {
		return fmt.Errorf("pki: verify: %w", err)
	}
	if err := ChainsTo(cert, roots); err != nil {
		return fmt.Errorf("pki: verify: certificate does not chain to the root bundle: %w", err)
	}
	return nil
}

// CheckIntermediateCA checks the constraints of a cluster intermediate: a
// CA with pathlen 0 that may sign certificates.
func CheckIntermediateCA(cert *x509.Certificate) error {
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return errors.New("certificate is not a CA")
	}
	if cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		return errors.New("certificate does not have pathlen 0")
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("certificate lacks the certificate-signing key usage")
	}
	return nil
}

// ChainsTo verifies cert's chain to one of roots as of its NotBefore, so
// that the result does not depend on the wall clock; expiry is Renewal's
// concern.
func ChainsTo(cert *x509.Certificate, roots []*x509.Certificate) error {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: cert.NotBefore,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// Renewal is where an intermediate stands in its renewal cycle.
type Renewal int

const (
	Current Renewal = iota // keep it
	Due                    // within renewBefore of expiry: re-issue it
	Expired                // past NotAfter
)

// RenewalOf is the renewal rule, the one generate and validate both apply:
// an intermediate is due within renewBefore of its NotAfter, except when
// the root's own expiry cut it short (a new one would end at the same
// moment, so re-issuing would only churn; the root must be rotated, and
// validate says so about the root). root may be nil.
func RenewalOf(cert, root *x509.Certificate, renewBefore time.Duration, now time.Time) Renewal {
	switch {
	case !now.Before(cert.NotAfter):
		return Expired
	case now.Add(renewBefore).Before(cert.NotAfter):
		return Current
	case root != nil && cert.NotAfter.Equal(root.NotAfter):
		return Current
	}
	return Due
}

// ReissueReason says why an existing intermediate must be replaced, or ""
// when it can be kept: it is signed by root, matches want's algorithm,
// subject and validity policy, and is not within renewBefore of expiry at
// now. The reason is meant for the operator, e.g. "algorithm changed from
// ecdsa-p256 to rsa-2048".
func ReissueReason(existing *x509.Certificate, root *x509.Certificate, want IntermediateRequest, renewBefore time.Duration, now time.Time) string {
	if existing == nil {
		return "no existing intermediate"
	}
	if root == nil || existing.CheckSignatureFrom(root) != nil {
		return "signed by a different root"
	}
	if have, wantAlg := AlgorithmOf(existing), want.Algorithm.orDefault(); have != wantAlg {
		if have == "" {
			return fmt.Sprintf("algorithm changed from an unsupported key type to %s", wantAlg)
		}
		return fmt.Sprintf("algorithm changed from %s to %s", have, wantAlg)
	}
	s := existing.Subject
	if s.CommonName != IntermediateCommonName || !slices.Equal(s.Organization, []string{want.Organization}) ||
		!slices.Equal(s.Locality, []string{want.Cluster}) {
		return "subject changed"
	}
	if !slices.Equal(existing.DNSNames, []string{IstiodDNSName}) {
		return "subject alternative names changed"
	}
	if !existing.IsCA || existing.MaxPathLen != 0 || !existing.MaxPathLenZero ||
		existing.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature {
		return "CA constraints changed"
	}
	// The intermediate matches the policy if it has the requested length,
	// or was cut short by the root's own expiry.
	got := existing.NotAfter.Sub(existing.NotBefore)
	wantLen := want.validity().Truncate(time.Second)
	if got != wantLen && !(got < wantLen && existing.NotAfter.Equal(root.NotAfter)) {
		return fmt.Sprintf("validity policy changed from %s to %s", Hours(got), Hours(wantLen))
	}
	switch RenewalOf(existing, root, renewBefore, now) {
	case Expired:
		return fmt.Sprintf("expired %s", existing.NotAfter.UTC().Format(time.DateOnly))
	case Due:
		return fmt.Sprintf("expires %s, within renewBefore %s", existing.NotAfter.UTC().Format(time.DateOnly), Hours(renewBefore))
	}
	return ""
}

// Hours prints whole-hour durations as "720h" rather than "720h0m0s", as
// the inventory spells them.
func Hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

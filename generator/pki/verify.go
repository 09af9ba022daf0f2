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
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return errors.New("pki: verify: certificate is not a CA")
	}
	if cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		return errors.New("pki: verify: certificate does not have pathlen 0")
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("pki: verify: certificate lacks the certificate-signing key usage")
	}
	if err := KeyMatches(cert, ca.KeyPEM); err != nil {
		return fmt.Errorf("pki: verify: %w", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: cert.NotBefore,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return fmt.Errorf("pki: verify: certificate does not chain to the root bundle: %w", err)
	}
	return nil
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
	if !now.Before(existing.NotAfter) {
		return fmt.Sprintf("expired %s", existing.NotAfter.UTC().Format(time.DateOnly))
	}
	if !now.Add(renewBefore).Before(existing.NotAfter) {
		if existing.NotAfter.Equal(root.NotAfter) {
			// Cut short by the root's own expiry: a new intermediate would
			// end at the same moment, so re-issuing on every run would only
			// churn. The root must be rotated; validate says so.
			return ""
		}
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

package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// The data key is wrapped for each recipient with filippo.io/age itself
// (age.Encrypt into an armored writer, the form sops stores in
// sops.age[].enc). Its randomness comes from crypto/rand; output that must
// not churn between runs is kept from the prior file instead of being
// recomputed.

// parseRecipients validates, sorts and de-duplicates X25519 recipients.
func parseRecipients(rs []string) ([]string, error) {
	if len(rs) == 0 {
		return nil, errors.New("sops: no age recipients")
	}
	seen := make(map[string]bool, len(rs))
	var out []string
	for _, r := range rs {
		r = strings.TrimSpace(r)
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return nil, fmt.Errorf("sops: recipient %q is not an age X25519 recipient (age1...)", r)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

// wrapDataKey encrypts dataKey to one recipient as an armored age file.
func wrapDataKey(dataKey []byte, recipient string) (string, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return "", fmt.Errorf("sops: recipient %q is not an age X25519 recipient", recipient)
	}
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", fmt.Errorf("sops: age: %w", err)
	}
	if _, err := w.Write(dataKey); err != nil {
		return "", fmt.Errorf("sops: age: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("sops: age: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("sops: age armor: %w", err)
	}
	return out.String(), nil
}

// unwrapDataKey tries every armored age file with the identities and
// returns the first data key recovered.
func unwrapDataKey(encs []string, recipients []string, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, &NoIdentityError{Recipients: recipients}
	}
	for _, enc := range encs {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), ids...)
		if err != nil {
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 1024))
		if err != nil || len(key) != 32 {
			return nil, errors.New("sops: an age stanza decrypted to a malformed data key")
		}
		return key, nil
	}
	return nil, &NoIdentityError{Recipients: recipients}
}

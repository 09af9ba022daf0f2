package sops

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"filippo.io/age"
)

// EncryptOptions configure Encrypt. Time is an input; randomness (the data
// key, IVs and age's file keys) comes from crypto/rand, so tests that need
// repeatable bytes pin it with testing/cryptotest.SetGlobalRandom.
type EncryptOptions struct {
	// Recipients are the age X25519 recipients (age1...) the data key is
	// wrapped for. Encrypt sorts and de-duplicates them.
	Recipients []string
	// EncryptedRegex selects the values to encrypt: a leaf is encrypted when
	// any key on its path matches, e.g. `^(ca-key\.pem|data|stringData)$`.
	// Empty means sops' default: encrypt every value except under keys
	// ending in "_unencrypted".
	EncryptedRegex string
	// MACOnlyEncrypted makes the MAC cover only the encrypted values
	// (sops --mac-only-encrypted). meshgen always sets it: its files are
	// Kubernetes objects that kustomize rewrites before Flux or KSOPS
	// decrypt them (namePrefix, namespace, commonLabels, patches to
	// metadata), and a MAC over the plaintext fields would then no longer
	// match. The encrypted values themselves stay authenticated, each by
	// AES-GCM bound to its key path, and the MAC still detects a removed
	// or reordered encrypted value.
	MACOnlyEncrypted bool
	// Now is written to sops.lastmodified (truncated to the second, UTC).
	// Required.
	Now time.Time
}

// Encrypt encrypts one plaintext YAML document (a Kubernetes object) into a
// SOPS file. Key order is preserved; comments are dropped.
func Encrypt(plain []byte, opts EncryptOptions) ([]byte, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("sops: EncryptOptions.Now is zero")
	}
	recipients, err := parseRecipients(opts.Recipients)
	if err != nil {
		return nil, err
	}
	md := &fileMeta{Metadata: Metadata{
		Recipients:       recipients,
		LastModified:     opts.Now.UTC().Truncate(time.Second),
		EncryptedRegex:   opts.EncryptedRegex,
		MACOnlyEncrypted: opts.MACOnlyEncrypted,
		Version:          FormatVersion,
	}}
	if opts.EncryptedRegex == "" {
		md.UnencryptedSuffix = defaultUnencryptedSuffix
	} else if _, err := regexp.Compile(opts.EncryptedRegex); err != nil {
		return nil, fmt.Errorf("sops: EncryptedRegex: %w", err)
	}
	r, err := md.rules()
	if err != nil {
		return nil, err
	}

	doc, err := parseDocument(plain)
	if err != nil {
		return nil, err
	}
	if _, ok := doc.get(metadataKey); ok {
		return nil, formatErr([]string{metadataKey}, "the document already has a top-level sops key")
	}

	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("sops: reading randomness for the data key: %w", err)
	}
	w := newWalker(r, md.MACOnlyEncrypted, dataKey)
	body, err := w.encrypt(doc, nil)
	if err != nil {
		return nil, err
	}
	if md.mac, err = encryptLeaf(w.sum(), dataKey, md.LastModified.Format(time.RFC3339)); err != nil {
		return nil, fmt.Errorf("sops: encrypting the MAC: %w", err)
	}
	for _, rcp := range recipients {
		enc, err := wrapDataKey(dataKey, rcp)
		if err != nil {
			return nil, err
		}
		md.age = append(md.age, ageEntry{rcp, enc})
	}
	return emitDocument(append(body.(mapping), item{metadataKey, md.emit()}))
}

// Decrypt decrypts a SOPS file with the first identity that unwraps its data
// key, verifies the MAC, and returns the plaintext document without the sops
// key, formatted as `sops --decrypt` formats it.
func Decrypt(data []byte, ids []age.Identity) ([]byte, error) {
	body, md, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	_, plain, err := open(body, md, ids)
	if err != nil {
		return nil, err
	}
	return emitDocument(plain)
}

// open unwraps the data key, decrypts body and checks the MAC.
func open(body mapping, md *fileMeta, ids []age.Identity) (dataKey []byte, plain mapping, err error) {
	r, err := md.rules()
	if err != nil {
		return nil, nil, err
	}
	dataKey, err = unwrapDataKey(md.encs(), md.Recipients, ids)
	if err != nil {
		return nil, nil, err
	}
	w := newWalker(r, md.MACOnlyEncrypted, dataKey)
	out, err := w.decrypt(body, nil)
	if err != nil {
		return nil, nil, err
	}
	if md.mac == "" {
		return nil, nil, macErr([]string{metadataKey, "mac"}, "missing")
	}
	stored, err := decryptLeaf(md.mac, dataKey, md.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, nil, macErr([]string{metadataKey, "mac"}, "cannot be decrypted")
	}
	s, ok := stored.(string)
	if !ok || subtle.ConstantTimeCompare([]byte(s), []byte(w.sum())) != 1 {
		return nil, nil, macErr(nil, "computed MAC differs from sops.mac")
	}
	return dataKey, out.(mapping), nil
}

// ReadMetadata returns the public metadata of a SOPS file. It needs no
// identity and does not check the MAC.
func ReadMetadata(data []byte) (*Metadata, error) {
	_, md, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	m := md.Metadata
	return &m, nil
}

// Public is what a SOPS file shows without an identity: its metadata and
// the values it keeps in plaintext.
type Public struct {
	Metadata
	body mapping
}

// ReadPublic decodes a SOPS file once for both its metadata and its
// plaintext values. It needs no identity and does not check the MAC.
func ReadPublic(data []byte) (*Public, error) {
	body, md, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	return &Public{Metadata: md.Metadata, body: body}, nil
}

// Plain returns the string at a key path (e.g. "stringData",
// "ca-cert.pem") when the file stores it unencrypted.
func (p *Public) Plain(path ...string) (string, bool) {
	var v any = p.body
	for _, k := range path {
		m, ok := v.(mapping)
		if !ok {
			return "", false
		}
		if v, ok = m.get(k); !ok {
			return "", false
		}
	}
	s, ok := v.(string)
	if !ok || encValue.MatchString(s) {
		return "", false
	}
	return s, true
}

// ReencryptOptions configure Reencrypt.
type ReencryptOptions struct {
	// Recipients are the new age recipients; sorted and de-duplicated.
	Recipients []string
}

// Reencrypt wraps a file's existing data key for a new set of recipients.
// The encrypted values, MAC and lastmodified stay byte-for-byte the same, so
// a recipient change shows in review as a change to sops.age only. The file
// is fully decrypted and its MAC verified first, so a tampered file is never
// re-blessed. If the recipient set is unchanged, data is returned as is.
func Reencrypt(data []byte, ids []age.Identity, opts ReencryptOptions) ([]byte, error) {
	recipients, err := parseRecipients(opts.Recipients)
	if err != nil {
		return nil, err
	}
	body, md, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	if len(md.otherKeys) > 0 {
		return nil, formatErr([]string{metadataKey}, "the file also has %v keys, which Reencrypt would drop", md.otherKeys)
	}
	dataKey, _, err := open(body, md, ids)
	if err != nil {
		return nil, err
	}
	current := slices.Clone(md.Recipients)
	slices.Sort(current)
	if slices.Equal(slices.Compact(current), recipients) {
		return data, nil
	}
	md.age = md.age[:0]
	md.Recipients = recipients
	for _, rcp := range recipients {
		enc, err := wrapDataKey(dataKey, rcp)
		if err != nil {
			return nil, err
		}
		md.age = append(md.age, ageEntry{rcp, enc})
	}
	return emitDocument(append(body, item{metadataKey, md.emit()}))
}

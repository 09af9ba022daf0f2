package sops

import (
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
)

// macOnlyEncryptedInit is sops.MACOnlyEncryptedInitialization: the MAC of a
// mac_only_encrypted file starts with these bytes so it can never equal the
// MAC of the same tree without the setting.
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// defaultUnencryptedSuffix is what sops applies when a file names no rule.
const defaultUnencryptedSuffix = "_unencrypted"

// rules decide which leaves are encrypted, in the order sops'
// Tree.shouldBeEncrypted applies them (comment rules are not supported).
type rules struct {
	unencryptedSuffix, encryptedSuffix string
	unencryptedRegex, encryptedRegex   *regexp.Regexp
}

func (r rules) encrypted(path []string) bool {
	enc := true
	if r.unencryptedSuffix != "" {
		for _, p := range path {
			if strings.HasSuffix(p, r.unencryptedSuffix) {
				enc = false
				break
			}
		}
	}
	if r.encryptedSuffix != "" {
		enc = false
		for _, p := range path {
			if strings.HasSuffix(p, r.encryptedSuffix) {
				enc = true
				break
			}
		}
	}
	if r.unencryptedRegex != nil {
		for _, p := range path {
			if r.unencryptedRegex.MatchString(p) {
				enc = false
				break
			}
		}
	}
	if r.encryptedRegex != nil {
		enc = false
		for _, p := range path {
			if r.encryptedRegex.MatchString(p) {
				enc = true
				break
			}
		}
	}
	return enc
}

// walker visits leaves in document order, like sops' walkBranch: a
// sequence element has the path of the sequence's key, and nil leaves are
// skipped entirely.
type walker struct {
	rules   rules
	macOnly bool
	key     []byte
	mac     hash.Hash
}

func newWalker(r rules, macOnly bool, key []byte) *walker {
	w := &walker{rules: r, macOnly: macOnly, key: key, mac: sha512.New()}
	if macOnly {
		w.mac.Write(macOnlyEncryptedInit)
	}
	return w
}

// sum is the MAC as sops stores it: upper-case hex of SHA-512.
func (w *walker) sum() string { return fmt.Sprintf("%X", w.mac.Sum(nil)) }

func additionalData(path []string) string { return strings.Join(path, ":") + ":" }

// walk returns a copy of v with every leaf replaced by leaf(value, path).
// A list's items share their parent key's path, as in sops.
func (w *walker) walk(v any, path []string, leaf func(any, []string) (any, error)) (any, error) {
	switch v := v.(type) {
	case mapping:
		out := make(mapping, len(v))
		for i, it := range v {
			nv, err := w.walk(it.value, append(path[:len(path):len(path)], it.key), leaf)
			if err != nil {
				return nil, err
			}
			out[i] = item{it.key, nv}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			nv, err := w.walk(e, path, leaf)
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return leaf(v, path)
}

// encrypt returns a copy of v with selected leaves encrypted, feeding the
// plaintext into the MAC.
func (w *walker) encrypt(v any, path []string) (any, error) {
	return w.walk(v, path, w.encryptLeaf)
}

func (w *walker) encryptLeaf(v any, path []string) (any, error) {
	enc := w.rules.encrypted(path)
	if !w.macOnly || enc {
		b, _, err := leafBytes(v)
		if err != nil {
			return nil, formatErr(path, "%v", err)
		}
		w.mac.Write(b)
	}
	if !enc {
		return v, nil
	}
	s, err := encryptLeaf(v, w.key, additionalData(path))
	if err != nil {
		return nil, fmt.Errorf("sops: %s: %w", strings.Join(path, "."), err)
	}
	return s, nil
}

// decrypt returns a copy of v with encrypted leaves decrypted, feeding the
// plaintext into the MAC. A value that fails authentication is reported as
// a MAC mismatch.
func (w *walker) decrypt(v any, path []string) (any, error) {
	return w.walk(v, path, w.decryptLeaf)
}

func (w *walker) decryptLeaf(v any, path []string) (any, error) {
	enc := w.rules.encrypted(path)
	plain := v
	if enc {
		s, ok := v.(string)
		if !ok {
			return nil, macErr(path, fmt.Sprintf("expected an encrypted value, found a plaintext %T", v))
		}
		var err error
		plain, err = decryptLeaf(s, w.key, additionalData(path))
		if errors.As(err, new(errAuth)) {
			return nil, macErr(path, "value failed authentication")
		}
		if err != nil {
			return nil, formatErr(path, "%v", err)
		}
	}
	if !w.macOnly || enc {
		b, _, err := leafBytes(plain)
		if err != nil {
			return nil, formatErr(path, "%v", err)
		}
		w.mac.Write(b)
	}
	return plain, nil
}

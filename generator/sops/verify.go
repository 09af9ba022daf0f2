package sops

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// ErrStanza reports an age stanza, addressed to a recipient whose identity
// was given, that does not open with it (or opens to a different data key
// than the file's other stanzas). sops would still decrypt such a file with
// another identity, but the holder of that one no longer can.
var ErrStanza = errors.New("the age stanza for a given identity does not open with it")

// Verify checks a SOPS file with the identities given as strictly as the
// holders of every one of them would: the file decrypts and its MAC matches
// (as Decrypt and `sops --decrypt` check), and every age stanza addressed to
// the recipient of one of ids opens with that identity to the same data key.
// It returns the decrypted document, as Decrypt does.
//
// When no identity is a recipient of the file and none opens it, the error
// is a *NoIdentityError (errors.Is(err, ErrNoIdentity)): the file could not
// be checked, which is not a finding. Errors never contain values.
func Verify(data []byte, ids []age.Identity) ([]byte, error) {
	body, md, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	var held []byte // the data key the held stanzas open to
	for i, a := range md.age {
		for _, id := range ids {
			x, ok := id.(*age.X25519Identity)
			if !ok || x.Recipient().String() != a.recipient {
				continue
			}
			key, err := unwrapOne(a.enc, x)
			if err != nil {
				return nil, fmt.Errorf("sops: sops.age[%d] (%s): %w", i, a.recipient, ErrStanza)
			}
			if held != nil && subtle.ConstantTimeCompare(held, key) != 1 {
				return nil, fmt.Errorf("sops: sops.age[%d] (%s): opens to a different data key than the file's other stanzas: %w", i, a.recipient, ErrStanza)
			}
			held = key
		}
	}
	dataKey, plain, err := open(body, md, ids)
	if err != nil {
		return nil, err
	}
	if held != nil && subtle.ConstantTimeCompare(held, dataKey) != 1 {
		return nil, fmt.Errorf("sops: the file's age stanzas open to different data keys: %w", ErrStanza)
	}
	return emitDocument(plain)
}

// unwrapOne opens one age stanza with one identity.
func unwrapOne(enc string, id age.Identity) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), id)
	if err != nil {
		return nil, err
	}
	key, err := io.ReadAll(io.LimitReader(r, 1024))
	if err != nil || len(key) != 32 {
		return nil, errors.New("malformed data key")
	}
	return key, nil
}

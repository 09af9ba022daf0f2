package sops

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMACMismatch reports that a file fails its integrity check: a value's
// ciphertext, the stored MAC, or (unless mac_only_encrypted is set) a
// plaintext value was changed after encryption. Test for it with errors.Is.
var ErrMACMismatch = errors.New("MAC does not match: the file was modified or corrupted after it was encrypted")

// ErrNoIdentity reports that none of the given age identities can unwrap the
// file's data key. The concrete error is a *NoIdentityError.
var ErrNoIdentity = errors.New("no age identity matches the file's recipients")

// ErrNotEncrypted reports a document without a top-level "sops" key.
var ErrNotEncrypted = errors.New("not a SOPS file: no top-level sops key")

// NoIdentityError is returned when no identity unwraps the data key. It names
// the file's recipients (public keys) so the operator can see which key is
// needed.
type NoIdentityError struct {
	// Recipients are the age recipients the file is encrypted to.
	Recipients []string
}

func (e *NoIdentityError) Error() string {
	if len(e.Recipients) == 0 {
		return "sops: file has no age recipients"
	}
	return fmt.Sprintf("sops: %v; the file is encrypted to %s", ErrNoIdentity, strings.Join(e.Recipients, ", "))
}

// Unwrap makes errors.Is(err, ErrNoIdentity) true.
func (e *NoIdentityError) Unwrap() error { return ErrNoIdentity }

// FormatError reports a structurally invalid SOPS file or plaintext document.
// Path is the key path (joined with "."), empty for the document itself. The
// message never contains values from the document.
type FormatError struct {
	Path string
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return "sops: " + e.Msg
	}
	return "sops: " + e.Path + ": " + e.Msg
}

func formatErr(path []string, format string, args ...any) error {
	return &FormatError{Path: strings.Join(path, "."), Msg: fmt.Sprintf(format, args...)}
}

// macErr wraps ErrMACMismatch with the path of the offending value.
func macErr(path []string, what string) error {
	if len(path) == 0 {
		return fmt.Errorf("sops: %s: %w", what, ErrMACMismatch)
	}
	return fmt.Errorf("sops: %s: %s: %w", strings.Join(path, "."), what, ErrMACMismatch)
}

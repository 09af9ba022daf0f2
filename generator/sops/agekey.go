package sops

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// age.Encrypt draws its file key, ephemeral keys and payload nonce from
// crypto/rand, which would make every run produce different bytes. The age
// v1 format for X25519 recipients is small and specified
// (https://age-encryption.org/v1), so wrapData writes it directly from the
// caller's randomness. Decryption uses filippo.io/age itself, which also
// checks every file written here in the tests.

const (
	ageIntro      = "age-encryption.org/v1\n"
	x25519Label   = "age-encryption.org/v1/X25519"
	fileKeySize   = 16
	streamNonceSz = 16
	chunkSize     = 64 * 1024
)

var ageB64 = base64.RawStdEncoding.Strict()

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

// wrapDataKey encrypts dataKey to one X25519 recipient as an armored age
// file, the form sops stores in sops.age[].enc. It reads, in order: the
// 16-byte file key, the 32-byte ephemeral scalar and the 16-byte payload
// nonce.
func wrapDataKey(dataKey []byte, recipient string, rnd io.Reader) (string, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return "", fmt.Errorf("sops: recipient %q is not an age X25519 recipient", recipient)
	}
	theirs, err := recipientPoint(r)
	if err != nil {
		return "", err
	}
	fileKey := make([]byte, fileKeySize)
	ephemeral := make([]byte, curve25519.ScalarSize)
	nonce := make([]byte, streamNonceSz)
	for _, b := range [][]byte{fileKey, ephemeral, nonce} {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return "", fmt.Errorf("sops: reading randomness for age: %w", err)
		}
	}

	ours, err := curve25519.X25519(ephemeral, curve25519.Basepoint)
	if err != nil {
		return "", err
	}
	shared, err := curve25519.X25519(ephemeral, theirs)
	if err != nil {
		return "", err
	}
	salt := append(append([]byte{}, ours...), theirs...)
	wrapKey := hkdfKey(shared, salt, x25519Label)
	body, err := sealZeroNonce(wrapKey, fileKey)
	if err != nil {
		return "", err
	}

	var hdr bytes.Buffer
	hdr.WriteString(ageIntro)
	hdr.WriteString("-> X25519 " + ageB64.EncodeToString(ours) + "\n")
	writeWrapped(&hdr, ageB64.EncodeToString(body))
	hdr.WriteString("---")
	mac := hmac.New(sha256.New, hkdfKey(fileKey, nil, "header"))
	mac.Write(hdr.Bytes())
	hdr.WriteString(" " + ageB64.EncodeToString(mac.Sum(nil)) + "\n")

	var file bytes.Buffer
	file.Write(hdr.Bytes())
	file.Write(nonce)
	payload, err := sealPayload(hkdfKey(fileKey, nonce, "payload"), dataKey)
	if err != nil {
		return "", err
	}
	file.Write(payload)

	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	if _, err := aw.Write(file.Bytes()); err != nil {
		return "", err
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return out.String(), nil
}

// recipientPoint recovers the Curve25519 point of an X25519 recipient from
// its Bech32 string (age does not export it).
func recipientPoint(r *age.X25519Recipient) ([]byte, error) {
	hrp, data, err := bech32Decode(r.String())
	if err != nil || hrp != "age" || len(data) != curve25519.PointSize {
		return nil, fmt.Errorf("sops: malformed age recipient %q", r.String())
	}
	return data, nil
}

func hkdfKey(secret, salt []byte, info string) []byte {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, []byte(info)), k); err != nil {
		panic("sops: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return k
}

func sealZeroNonce(key, plaintext []byte) ([]byte, error) {
	a, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	return a.Seal(nil, make([]byte, chacha20poly1305.NonceSize), plaintext, nil), nil
}

// sealPayload is age's STREAM construction: 64 KiB chunks, nonce = 11-byte
// big-endian counter plus a final-chunk flag byte.
func sealPayload(key, plaintext []byte) ([]byte, error) {
	a, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	var out []byte
	nonce := make([]byte, chacha20poly1305.NonceSize)
	for counter := uint64(0); ; counter++ {
		n := min(len(plaintext), chunkSize)
		last := n == len(plaintext)
		for i := 0; i < 8; i++ {
			nonce[10-i] = byte(counter >> (8 * i))
		}
		nonce[11] = 0
		if last {
			nonce[11] = 1
		}
		out = a.Seal(out, nonce, plaintext[:n], nil)
		plaintext = plaintext[n:]
		if last {
			return out, nil
		}
	}
}

// writeWrapped writes a stanza body: 64-column lines, always ending with a
// line shorter than 64 columns (possibly empty).
func writeWrapped(b *bytes.Buffer, s string) {
	for len(s) >= 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
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

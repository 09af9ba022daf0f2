package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ivSize is the AES-GCM nonce length sops uses for values (aes.nonceSize).
const ivSize = 32

// encValue is the same pattern sops' aes package matches values against.
var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// leafBytes is sops.ToBytes: the bytes of a leaf that go into the MAC and,
// for encrypted leaves, into the ciphertext.
func leafBytes(v any) ([]byte, string, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), "str", nil
	case int:
		return []byte(strconv.Itoa(v)), "int", nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), "float", nil
	case bool:
		// sops writes booleans the way its Python ancestor did.
		if v {
			return []byte("True"), "bool", nil
		}
		return []byte("False"), "bool", nil
	case time.Time:
		b, err := v.MarshalText()
		return b, "time", err
	default:
		return nil, "", fmt.Errorf("unsupported value type %T", v)
	}
}

func newGCM(key []byte, nonceSize int) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithNonceSize(block, nonceSize)
}

// encryptLeaf returns the ENC[...] form of v. Empty strings stay empty and
// consume no randomness, as in sops.
func encryptLeaf(v any, key []byte, ad string) (string, error) {
	if s, ok := v.(string); ok && s == "" {
		return "", nil
	}
	plain, typ, err := leafBytes(v)
	if err != nil {
		return "", err
	}
	iv := make([]byte, ivSize)
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("reading randomness for IV: %w", err)
	}
	gcm, err := newGCM(key, ivSize)
	if err != nil {
		return "", err
	}
	out := gcm.Seal(nil, iv, plain, []byte(ad))
	tagAt := len(out) - gcm.Overhead()
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]",
		base64.StdEncoding.EncodeToString(out[:tagAt]),
		base64.StdEncoding.EncodeToString(iv),
		base64.StdEncoding.EncodeToString(out[tagAt:]),
		typ), nil
}

// errAuth means a value's ciphertext failed GCM authentication.
type errAuth struct{}

func (errAuth) Error() string { return "ciphertext failed authentication" }

// decryptLeaf reverses encryptLeaf. Errors never contain the plaintext.
func decryptLeaf(s string, key []byte, ad string) (any, error) {
	if s == "" {
		return "", nil
	}
	m := encValue.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("value is not in sops' ENC[AES256_GCM,...] format")
	}
	data, err1 := base64.StdEncoding.DecodeString(m[1])
	iv, err2 := base64.StdEncoding.DecodeString(m[2])
	tag, err3 := base64.StdEncoding.DecodeString(m[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("value has malformed base64 in ENC[...]")
	}
	if len(iv) == 0 {
		return nil, fmt.Errorf("value has an empty IV")
	}
	gcm, err := newGCM(key, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(ad))
	if err != nil {
		return nil, errAuth{}
	}
	switch typ := m[4]; typ {
	case "str":
		return string(plain), nil
	case "int":
		v, err := strconv.Atoi(string(plain))
		if err != nil {
			return nil, fmt.Errorf("decrypted value of type int is malformed")
		}
		return v, nil
	case "float":
		v, err := strconv.ParseFloat(string(plain), 64)
		if err != nil {
			return nil, fmt.Errorf("decrypted value of type float is malformed")
		}
		return v, nil
	case "bool":
		v, err := strconv.ParseBool(string(plain))
		if err != nil {
			return nil, fmt.Errorf("decrypted value of type bool is malformed")
		}
		return v, nil
	case "time":
		var v time.Time
		if err := v.UnmarshalText(plain); err != nil {
			return nil, fmt.Errorf("decrypted value of type time is malformed")
		}
		return v, nil
	case "bytes":
		// sops decrypts these to a byte slice that its YAML emitter and
		// MAC cannot handle (`sops --decrypt` panics); nothing meshgen or
		// a YAML file needs is of this type.
		return nil, fmt.Errorf("value has type bytes, which sops cannot decrypt in a YAML file")
	default:
		return nil, fmt.Errorf("value has unsupported type %q", typ)
	}
}

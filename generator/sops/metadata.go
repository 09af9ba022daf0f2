package sops

import (
	"fmt"
	"regexp"
	"time"
)

// metadataKey is the top-level key holding SOPS metadata.
const metadataKey = "sops"

// FormatVersion is the sops version written to sops.version: the sops
// release whose file format this package implements and is tested against.
const FormatVersion = "3.13.3"

// Metadata is the public part of a SOPS file's "sops" key: everything that
// can be read without an identity.
type Metadata struct {
	// Recipients are the age recipients the data key is wrapped for, in
	// file order.
	Recipients []string
	// LastModified is sops.lastmodified, the time the values were last
	// encrypted. It is part of the MAC's additional data.
	LastModified time.Time
	// EncryptedRegex, UnencryptedRegex, EncryptedSuffix and
	// UnencryptedSuffix are the rule that chose which values are encrypted.
	// A file written without a rule carries UnencryptedSuffix
	// "_unencrypted", as sops does.
	EncryptedRegex    string
	UnencryptedRegex  string
	EncryptedSuffix   string
	UnencryptedSuffix string
	// MACOnlyEncrypted reports that the MAC covers only encrypted values.
	MACOnlyEncrypted bool
	// Version is the sops version that wrote the file.
	Version string
}

type ageEntry struct{ recipient, enc string }

// fileMeta is the whole "sops" mapping as this package understands it.
type fileMeta struct {
	Metadata
	age       []ageEntry
	mac       string
	otherKeys []string // key types other than age that the file carries
}

func (m *fileMeta) rules() (rules, error) {
	r := rules{unencryptedSuffix: m.UnencryptedSuffix, encryptedSuffix: m.EncryptedSuffix}
	var err error
	if m.UnencryptedRegex != "" {
		if r.unencryptedRegex, err = regexp.Compile(m.UnencryptedRegex); err != nil {
			return r, formatErr([]string{metadataKey, "unencrypted_regex"}, "invalid regular expression")
		}
	}
	if m.EncryptedRegex != "" {
		if r.encryptedRegex, err = regexp.Compile(m.EncryptedRegex); err != nil {
			return r, formatErr([]string{metadataKey, "encrypted_regex"}, "invalid regular expression")
		}
	}
	return r, nil
}

func (m *fileMeta) encs() []string {
	out := make([]string, len(m.age))
	for i, a := range m.age {
		out[i] = a.enc
	}
	return out
}

// splitDocument parses a SOPS file into its body and metadata.
func splitDocument(data []byte) (mapping, *fileMeta, error) {
	doc, err := parseDocument(data)
	if err != nil {
		return nil, nil, err
	}
	var body mapping
	var raw any
	found := false
	for _, it := range doc {
		if it.key == metadataKey {
			raw, found = it.value, true
			continue
		}
		body = append(body, it)
	}
	if !found {
		return nil, nil, ErrNotEncrypted
	}
	md, err := parseMeta(raw)
	if err != nil {
		return nil, nil, err
	}
	return body, md, nil
}

func parseMeta(raw any) (*fileMeta, error) {
	path := func(k ...string) []string { return append([]string{metadataKey}, k...) }
	m, ok := raw.(mapping)
	if !ok {
		return nil, formatErr(path(), "must be a mapping")
	}
	md := &fileMeta{}
	str := func(key string, dst *string) error {
		v, ok := m.get(key)
		if !ok || v == nil {
			return nil
		}
		switch v := v.(type) {
		case string:
			*dst = v
		case time.Time:
			*dst = v.Format(time.RFC3339)
		case int, float64:
			*dst = fmt.Sprint(v)
		default:
			return formatErr(path(key), "must be a string")
		}
		return nil
	}
	var lastModified string
	for key, dst := range map[string]*string{
		"lastmodified":       &lastModified,
		"mac":                &md.mac,
		"version":            &md.Version,
		"encrypted_regex":    &md.EncryptedRegex,
		"unencrypted_regex":  &md.UnencryptedRegex,
		"encrypted_suffix":   &md.EncryptedSuffix,
		"unencrypted_suffix": &md.UnencryptedSuffix,
	} {
		if err := str(key, dst); err != nil {
			return nil, err
		}
	}
	t, err := time.Parse(time.RFC3339, lastModified)
	if err != nil {
		return nil, formatErr(path("lastmodified"), "not an RFC 3339 time")
	}
	md.LastModified = t
	if v, ok := m.get("mac_only_encrypted"); ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, formatErr(path("mac_only_encrypted"), "must be a boolean")
		}
		md.MACOnlyEncrypted = b
	}
	for _, k := range []string{"encrypted_comment_regex", "unencrypted_comment_regex"} {
		if v, ok := m.get(k); ok && v != nil && v != "" {
			return nil, formatErr(path(k), "comment-based encryption rules are not supported")
		}
	}
	rulesSet := 0
	for _, r := range []string{md.EncryptedRegex, md.UnencryptedRegex, md.EncryptedSuffix, md.UnencryptedSuffix} {
		if r != "" {
			rulesSet++
		}
	}
	if rulesSet > 1 {
		return nil, formatErr(path(), "more than one of encrypted_regex, unencrypted_regex, encrypted_suffix and unencrypted_suffix is set")
	}
	if rulesSet == 0 {
		md.UnencryptedSuffix = defaultUnencryptedSuffix
	}
	if v, ok := m.get("key_groups"); ok && v != nil {
		return nil, formatErr(path("key_groups"), "key groups (Shamir secret sharing) are not supported")
	}
	for _, k := range []string{"pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"} {
		if v, ok := m.get(k); ok && v != nil {
			if s, ok := v.([]any); !ok || len(s) > 0 {
				md.otherKeys = append(md.otherKeys, k)
			}
		}
	}
	if v, ok := m.get("age"); ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, formatErr(path("age"), "must be a list")
		}
		for i, e := range list {
			p := path("age", fmt.Sprint(i))
			em, ok := e.(mapping)
			if !ok {
				return nil, formatErr(p, "must be a mapping")
			}
			r, _ := em.get("recipient")
			enc, _ := em.get("enc")
			rs, ok1 := r.(string)
			es, ok2 := enc.(string)
			if !ok1 || !ok2 || rs == "" || es == "" {
				return nil, formatErr(p, "needs string fields recipient and enc")
			}
			md.age = append(md.age, ageEntry{rs, es})
			md.Recipients = append(md.Recipients, rs)
		}
	}
	if len(md.age) == 0 {
		return nil, formatErr(path("age"), "the file has no age recipients")
	}
	return md, nil
}

// emit returns the "sops" mapping with keys sorted, as sops serializes it.
func (m *fileMeta) emit() mapping {
	ages := make([]any, len(m.age))
	for i, a := range m.age {
		ages[i] = mapping{{"enc", a.enc}, {"recipient", a.recipient}}
	}
	out := mapping{{"age", ages}}
	add := func(k, v string) {
		if v != "" {
			out = append(out, item{k, v})
		}
	}
	add("encrypted_regex", m.EncryptedRegex)
	add("encrypted_suffix", m.EncryptedSuffix)
	out = append(out, item{"lastmodified", m.LastModified.Format(time.RFC3339)})
	out = append(out, item{"mac", m.mac})
	if m.MACOnlyEncrypted {
		out = append(out, item{"mac_only_encrypted", true})
	}
	add("unencrypted_regex", m.UnencryptedRegex)
	add("unencrypted_suffix", m.UnencryptedSuffix)
	out = append(out, item{"version", m.Version})
	return out
}

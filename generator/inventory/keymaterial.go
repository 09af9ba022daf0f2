package inventory

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// An inventory holds public values only (names, addresses, age
// recipients), but people paste the wrong thing: an age secret key where
// its public key belongs, a private key, a token, an API server URL with
// the token in it. meshgen refuses such a value wherever it is (Load) and
// never echoes it: every message about the inventory passes through
// Redact, which replaces anything key-shaped, quoted or not, by what it
// looks like.

var keyShapes = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`(?i)AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{10,}`), "an age secret key"},
	{regexp.MustCompile(`(?i)AGE-PLUGIN-[A-Z0-9-]+-1[0-9A-Z]{10,}`), "an age plugin identity"},
	{regexp.MustCompile(`-----BEGIN OPENSSH PRIVATE KEY-----(?s:.*?)(?:-----END OPENSSH PRIVATE KEY-----|$)|b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*`), "an OpenSSH private key"},
	{regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`), "a PEM private key"},
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), "a JSON Web Token"},
}

// urlRE finds URLs, whose userinfo or query may carry a credential.
var urlRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'\x60]+`)

// KeyMaterial says what secret s holds (such as "an age secret key"), or
// returns "" when it holds none that meshgen recognises: an age secret key
// or plugin identity, a PEM or OpenSSH private key, a JSON Web Token
// (Kubernetes service account tokens are JWTs), or a URL with a password or
// a query (?token=...), anywhere in s.
func KeyMaterial(s string) string {
	for _, k := range keyShapes {
		if k.re.MatchString(s) {
			return k.kind
		}
	}
	for _, u := range urlRE.FindAllString(s, -1) {
		if secretURL(u) {
			return "a URL carrying credentials (a password or a query)"
		}
	}
	return ""
}

func secretURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: judge by the characters a credential needs.
		return strings.ContainsAny(raw, "?@")
	}
	// What url.Redacted puts in a password's place may be shown.
	pw, hasPassword := u.User.Password()
	return hasPassword && pw != "xxxxx" || u.RawQuery != "" || u.ForceQuery
}

// tokenish matches long runs that look like random credentials: base64 or
// hex of 40 characters and more with upper and lower case letters and
// digits. No meshgen value has that shape (names are lowercase, age
// recipients too), so a false match costs only a value not shown.
var tokenish = regexp.MustCompile(`[A-Za-z0-9+/=_-]{40,}`)

func looksRandom(s string) bool {
	var upper, lower, digit bool
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	return upper && lower && digit
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\x60[^\x60]*\x60`)

// Redact returns msg with every key-shaped value replaced by a note of what
// it looks like. A quoted value ("..." as %q writes it, or `...` as yaml.v3
// does) is replaced whole, so no fragment of it is shown.
func Redact(msg string) string {
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		v := q[1 : len(q)-1]
		if q[0] == '"' {
			if u, err := strconv.Unquote(q); err == nil {
				v = u
			}
		}
		if kind := KeyMaterial(v); kind != "" {
			return "(value not shown: it looks like " + kind + ")"
		}
		for _, m := range tokenish.FindAllString(v, -1) {
			if looksRandom(m) {
				return "(value not shown: it looks like a token)"
			}
		}
		return q
	})
	for _, k := range keyShapes {
		msg = k.re.ReplaceAllString(msg, "("+k.kind+", not shown)")
	}
	msg = urlRE.ReplaceAllStringFunc(msg, func(raw string) string {
		if !secretURL(raw) {
			return raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return "(a URL carrying credentials, not shown)"
		}
		u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
		return u.String() + " (credentials not shown)"
	})
	return tokenish.ReplaceAllStringFunc(msg, func(m string) string {
		if looksRandom(m) {
			return "(a token, not shown)"
		}
		return m
	})
}

// keyMaterialMsg is the message for key material found at path: what the
// field wants instead, without the value.
func keyMaterialMsg(path, value, kind string) string {
	switch {
	case strings.HasSuffix(path, "]") && strings.Contains(path, "recipients[") && kind == "an age secret key":
		return "this is an age secret key, not a recipient: put its public key (age-keygen -y) here, and treat the secret key as leaked"
	case strings.HasSuffix(path, ".apiServer") && strings.HasPrefix(kind, "a URL"):
		shown := "the URL"
		if u, err := url.Parse(strings.TrimSpace(value)); err == nil && KeyMaterial(u.Host+u.Path) == "" {
			query := u.RawQuery != "" || u.ForceQuery
			u.RawQuery, u.ForceQuery, u.Fragment = "", false, ""
			shown = strconv.Quote(u.Redacted())
			if query {
				shown += " with its query (not shown)"
			}
		}
		return shown + " carries credentials: write the URL without them, such as https://203.0.113.1:6443, and store the token with 'meshgen credentials set'"
	}
	return "this value looks like " + kind + ", which does not belong in an inventory (it is not shown); an inventory holds names, addresses and public age recipients (age1...); treat the secret as leaked"
}

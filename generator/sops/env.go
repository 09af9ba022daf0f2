package sops

import (
	"bufio"
	"fmt"
	"strings"

	"filippo.io/age"
)

// IdentitiesFromEnv loads age identities the way sops and Flux do: from the
// file named by SOPS_AGE_KEY_FILE and from the contents of SOPS_AGE_KEY
// (both if both are set, file first). It returns no identities and no error
// when neither is set; callers that need one decide how to fail. Errors name
// the variable and line, never the key material.
func IdentitiesFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) ([]age.Identity, error) {
	var ids []age.Identity
	if path := getenv("SOPS_AGE_KEY_FILE"); path != "" {
		data, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("sops: SOPS_AGE_KEY_FILE: %w", err)
		}
		got, err := parseIdentities(string(data))
		if err != nil {
			return nil, fmt.Errorf("sops: SOPS_AGE_KEY_FILE %s: %w", path, err)
		}
		ids = append(ids, got...)
	}
	if key := getenv("SOPS_AGE_KEY"); key != "" {
		got, err := parseIdentities(key)
		if err != nil {
			return nil, fmt.Errorf("sops: SOPS_AGE_KEY: %w", err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// ParseIdentities parses the contents of an age identity file, as
// IdentitiesFromEnv does for SOPS_AGE_KEY_FILE. Its errors name the line,
// never the key material.
func ParseIdentities(data []byte) ([]age.Identity, error) {
	return parseIdentities(string(data))
}

// parseIdentities parses an age identity file: one identity per line, "#"
// comments and blank lines ignored. Unlike age.ParseIdentities, its errors
// never quote the offending line.
func parseIdentities(s string) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("line %d: age plugin identities are not supported", n)
		default:
			return nil, fmt.Errorf("line %d: not an age identity", n)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: malformed age identity", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading identities: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no age identities found")
	}
	return ids, nil
}

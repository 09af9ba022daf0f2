package testtools

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// Tamper is one change to one field of a SOPS file.
type Tamper struct {
	What string
	// StanzaOf, for a corrupted age stanza, is its recipient: only the
	// holder of that identity can tell.
	StanzaOf string
	Data     []byte
}

var (
	encLine     = regexp.MustCompile(`(?m)^(\s*)([\w.-]+): (ENC\[AES256_GCM,data:([^,]+),iv:([^,]+),tag:([^,]+),type:str\])$`)
	lastModLine = regexp.MustCompile(`(?m)^(\s*lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:)(\d\d)(Z")$`)
	stanzaBlock = regexp.MustCompile(`(?s)-----BEGIN AGE ENCRYPTED FILE-----\n\s*([A-Za-z0-9+/=]+)\n.*?-----END AGE ENCRYPTED FILE-----\n\s*recipient: (age1[a-z0-9]+)`)
)

// flip changes the character at i to another base64 character.
func flip(s []byte, i int) []byte {
	out := slices.Clone(s)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// Tampers lists a change to every field of a SOPS file that holds secret
// or integrity material: each encrypted value's ciphertext, IV and tag and
// its type, the MAC (an encrypted value too), lastmodified, and every age
// stanza.
func Tampers(t testing.TB, data []byte) []Tamper {
	t.Helper()
	var out []Tamper
	for _, m := range encLine.FindAllSubmatchIndex(data, -1) {
		key := string(data[m[4]:m[5]])
		for part, at := range map[string]int{"ciphertext": 8, "iv": 10, "tag": 12} {
			i := (m[at] + m[at+1]) / 2
			out = append(out, Tamper{What: key + " " + part, Data: flip(data, i)})
		}
		typ := slices.Concat(data[:m[7]-len("type:str]")], []byte("type:bytes]"), data[m[7]:])
		out = append(out, Tamper{What: key + " type str to bytes", Data: typ})
	}
	if m := lastModLine.FindSubmatchIndex(data); m != nil {
		sec := string(data[m[4]:m[5]])
		next := fmt.Sprintf("%02d", (int(sec[0]-'0')*10+int(sec[1]-'0')+1)%60)
		out = append(out, Tamper{What: "lastmodified", Data: slices.Concat(data[:m[4]], []byte(next), data[m[5]:])})
	} else {
		t.Fatalf("no lastmodified in\n%s", data)
	}
	for _, m := range stanzaBlock.FindAllSubmatchIndex(data, -1) {
		rcp := string(data[m[4]:m[5]])
		out = append(out, Tamper{What: "age stanza of " + rcp[:12] + "…", StanzaOf: rcp, Data: flip(data, (m[2]+m[3])/2)})
	}
	return out
}

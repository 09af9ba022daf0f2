package generator

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

// tamper is one change to one field of a secret file.
type tamper struct {
	what string
	// stanzaOf, for a corrupted age stanza, is its recipient: only the
	// holder of that identity can tell.
	stanzaOf string
	data     []byte
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

// tampers lists a change to every field of a SOPS file that holds secret
// or integrity material: each encrypted value's ciphertext, IV and tag and
// its type, the MAC (an encrypted value too), lastmodified, and every age
// stanza.
func tampers(t *testing.T, data []byte) []tamper {
	t.Helper()
	var out []tamper
	for _, m := range encLine.FindAllSubmatchIndex(data, -1) {
		key := string(data[m[4]:m[5]])
		for part, at := range map[string]int{"ciphertext": 8, "iv": 10, "tag": 12} {
			i := (m[at] + m[at+1]) / 2
			out = append(out, tamper{what: key + " " + part, data: flip(data, i)})
		}
		typ := slices.Concat(data[:m[7]-len("type:str]")], []byte("type:bytes]"), data[m[7]:])
		out = append(out, tamper{what: key + " type str to bytes", data: typ})
	}
	if m := lastModLine.FindSubmatchIndex(data); m != nil {
		sec := string(data[m[4]:m[5]])
		next := fmt.Sprintf("%02d", (int(sec[0]-'0')*10+int(sec[1]-'0')+1)%60)
		out = append(out, tamper{what: "lastmodified", data: slices.Concat(data[:m[4]], []byte(next), data[m[5]:])})
	} else {
		t.Fatalf("no lastmodified in\n%s", data)
	}
	for _, m := range stanzaBlock.FindAllSubmatchIndex(data, -1) {
		rcp := string(data[m[4]:m[5]])
		out = append(out, tamper{what: "age stanza of " + rcp[:12] + "…", stanzaOf: rcp, data: flip(data, (m[2]+m[3])/2)})
	}
	return out
}

// TestTamperCorpus changes every field of every kind of secret meshgen
// keeps (the root CA key, a cacerts, a remote secret, a stored credential)
// and runs Generate and Check with the operator's identity, the cluster's,
// and none. Whenever an identity given opens the file and, for a stanza,
// is the one it is addressed to, the change must be caught: a cacerts or
// remote secret is written afresh with the reason in Tree.Tampered, the root
// CA key or a credential stops the run with a TamperedError, and Check
// reports it. Otherwise the change cannot be seen: the file is kept as
// found and Check does not claim to have verified it.
func TestTamperCorpus(t *testing.T) {
	var sc *scenario
	for _, s := range loadScenarios(t) {
		if len(topology.New(s.inv).Watched()) > 0 {
			sc = &s
			break
		}
	}
	if sc == nil {
		t.Fatal("no golden scenario with remote secrets")
	}
	// One set of stored credentials for both runs: each encryption is
	// fresh, and a remote secret records which credential it was built from.
	creds := withCredentials(t, sc.inv, nil)
	prior := mustGenerate(t, sc.inv, testOptions(maps.Clone(creds))).Map()
	for p, data := range creds {
		prior[p] = data
	}
	watched := sortedKeys(topology.New(sc.inv).Watched())[0]
	kinds := map[string]string{
		"root CA key":   RootCAPath,
		"cacerts":       CacertsPath(sc.inv.Clusters[0].Name),
		"remote secret": StageDir(topology.New(sc.inv).Watched()[watched][0], meshStage) + "/" + remoteSecretsDir + "/" + watched + ".sops.yaml",
		"credential":    CredentialPath(watched),
	}
	identities := map[string][]age.Identity{
		"operator": ageIdentities(t, "operator"),
		"cluster":  ageIdentities(t, "cluster"),
		"none":     nil,
	}
	now := testNow
	var caught, unseen int
	for kind, p := range kinds {
		if prior[p] == nil {
			t.Fatalf("%s: no %s", kind, p)
		}
		corpus := tampers(t, prior[p])
		if len(corpus) < 6 {
			t.Fatalf("%s: only %d tampers", kind, len(corpus))
		}
		for _, tc := range corpus {
			for who, ids := range identities {
				name := fmt.Sprintf("%s/%s/%s", kind, tc.what, who)
				files := clone(prior)
				files[p] = tc.data
				md, _ := readRecipients(prior[p])
				opens := false
				for _, id := range ids {
					if slices.Contains(md, id.(*age.X25519Identity).Recipient().String()) {
						opens = true
					}
				}
				visible := opens && (tc.stanzaOf == "" || slices.ContainsFunc(ids, func(id age.Identity) bool {
					return id.(*age.X25519Identity).Recipient().String() == tc.stanzaOf
				}))
				opts := testOptions(files)
				opts.Identities = ids
				opts.Preview = true // the cluster identity alone cannot issue anything
				tree, err := Generate(sc.inv, opts)
				report := CheckReport(sc.inv, files, ids, now)
				flagged := slices.ContainsFunc(report.Findings, func(f Finding) bool { return f.Path == p })
				switch {
				case visible && (p == RootCAPath || strings.HasPrefix(p, "credentials/")):
					var te *secrets.TamperedError
					if !errors.As(err, &te) || !strings.Contains(te.Error(), p+": fails its integrity check") {
						t.Errorf("%s: Generate error = %v, want a TamperedError naming %s", name, err, p)
					}
				case visible && err != nil:
					// Writing it afresh needs an identity that was not
					// given (the root key, for a cacerts): the error still
					// names what was found.
					var te *secrets.TamperedError
					if !errors.As(err, &te) || !strings.Contains(te.Error(), p+": fails its integrity check") || who == "operator" {
						t.Errorf("%s: Generate: %v", name, err)
					}
				case visible:
					if !strings.Contains(tree.Tampered[p], "fails its integrity check") {
						t.Errorf("%s: Tampered[%s] = %q", name, p, tree.Tampered[p])
					}
					if f := tree.Get(p); f != nil && string(f.Data) == string(tc.data) {
						t.Errorf("%s: the tampered file was kept", name)
					}
				default:
					var te *secrets.TamperedError
					if errors.As(err, &te) {
						t.Errorf("%s: Generate reports a change it cannot see: %v", name, err)
						continue
					}
					if err != nil {
						// A credential that changed in any way means its
						// remote secrets are rewritten, which needs an
						// operator's identity.
						if !errors.Is(err, sops.ErrNoIdentity) || !strings.HasPrefix(p, "credentials/") {
							t.Errorf("%s: Generate: %v", name, err)
						}
						continue
					}
					if f := tree.Get(p); f != nil && p != RootCAPath && !strings.HasPrefix(p, "credentials/") && string(f.Data) != string(tc.data) && tree.Pending[p] == "" {
						t.Errorf("%s: a change no identity given can see rewrote the file", name)
					}
					if len(tree.Tampered) > 0 {
						t.Errorf("%s: Tampered = %v", name, tree.Tampered)
					}
				}
				if visible && !flagged {
					t.Errorf("%s: Check found nothing", name)
				}
				if !visible && slices.Contains(report.Decrypted, p) && flagged {
					t.Errorf("%s: Check flagged a change it cannot see: %v", name, report.Findings)
				}
				if !opens && !slices.Contains(report.NotDecrypted, p) {
					t.Errorf("%s: Check does not list %s as not decrypted", name, p)
				}
				if visible {
					caught++
				} else {
					unseen++
				}
			}
		}
	}
	t.Logf("%d tampered files caught, %d out of the identities' sight (none given, or not theirs)", caught, unseen)
}

func clone(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readRecipients lists a SOPS file's recipients.
func readRecipients(data []byte) ([]string, error) {
	var out []string
	for _, m := range regexp.MustCompile(`recipient: (age1[a-z0-9]+)`).FindAllSubmatch(data, -1) {
		out = append(out, string(m[1]))
	}
	return out, nil
}

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

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

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
		corpus := testtools.Tampers(t, prior[p])
		if len(corpus) < 6 {
			t.Fatalf("%s: only %d tampers", kind, len(corpus))
		}
		for _, tc := range corpus {
			for who, ids := range identities {
				name := fmt.Sprintf("%s/%s/%s", kind, tc.What, who)
				files := clone(prior)
				files[p] = tc.Data
				md, _ := readRecipients(prior[p])
				opens := false
				for _, id := range ids {
					if slices.Contains(md, id.(*age.X25519Identity).Recipient().String()) {
						opens = true
					}
				}
				visible := opens && (tc.StanzaOf == "" || slices.ContainsFunc(ids, func(id age.Identity) bool {
					return id.(*age.X25519Identity).Recipient().String() == tc.StanzaOf
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
					if f := tree.Get(p); f != nil && string(f.Data) == string(tc.Data) {
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
					if f := tree.Get(p); f != nil && p != RootCAPath && !strings.HasPrefix(p, "credentials/") && string(f.Data) != string(tc.Data) && tree.Pending[p] == "" {
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
	if caught == 0 {
		t.Fatal("no tampered file was in an identity's sight: nothing was checked to be caught")
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

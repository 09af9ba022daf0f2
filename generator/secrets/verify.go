package secrets

import (
	"errors"
	"path"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator/internal/pool"
	"github.com/meshgen/meshgen/generator/sops"
)

// A secret kept from the prior tree is carried into the new one byte for
// byte, so a tampered one would be re-blessed by every run. With
// identities, every prior secret one of them is a recipient of is verified
// before anything is kept (sops.Verify: each value decrypts, the MAC
// matches, every stanza addressed to a held identity opens with it):
//
//   - a tampered cacerts or remote secret is dropped from the prior tree, so
//     the run issues or writes it afresh, and the reason is in
//     Tree.Tampered (the CLI prints it);
//   - a tampered root CA key or stored credential cannot be re-created by
//     meshgen (a new root is a trust change for the whole mesh; a
//     credential comes from the cluster), so the run fails with a
//     TamperedError naming each.
//
// Secrets no identity given can open are not checked here; validate lists
// them.

// TamperedError reports prior secrets that fail verification and that
// meshgen cannot re-create.
type TamperedError struct {
	Items []string // "pki/root-ca.sops.yaml: sops: ...: restore it from ..."
	// Err, when set, is why the secrets that a run re-creates could not be
	// (an identity that can issue them was not given, say).
	Err error
}

func (e *TamperedError) Error() string {
	if e.Err != nil {
		return strings.Join(e.Items, "\n") + "\n" + e.Err.Error()
	}
	return strings.Join(e.Items, "\n")
}

// Unwrap returns Err.
func (e *TamperedError) Unwrap() error { return e.Err }

// IsSecretPath reports whether p is a SOPS-encrypted file meshgen writes or
// reads: every *.sops.yaml but the sops configuration at the top.
func IsSecretPath(p string) bool {
	return strings.HasSuffix(p, ".sops.yaml") && p != ".sops.yaml"
}

// Irreplaceable are the prior secrets a run cannot re-create: the root CA
// file, and the stored credentials under a directory.
type Irreplaceable struct {
	RootCA         string
	CredentialsDir string
}

// VerifyPrior checks the prior secrets the identities can open. It returns
// the prior tree without the tampered secrets that a run re-creates, and
// why each was dropped; a tampered irreplaceable secret is a TamperedError.
func VerifyPrior(prior map[string][]byte, ids []age.Identity, keep Irreplaceable) (map[string][]byte, map[string]string, error) {
	if len(ids) == 0 {
		return prior, nil, nil
	}
	var paths []string
	for p := range prior {
		if IsSecretPath(p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	results := make([]error, len(paths))
	pool.All(len(paths), func(i int) {
		_, results[i] = sops.Verify(prior[paths[i]], ids)
	})
	kept := prior
	tampered := map[string]string{}
	var fatal []string
	for i, p := range paths {
		err := results[i]
		if err == nil || errors.Is(err, sops.ErrNoIdentity) {
			continue
		}
		why := "fails its integrity check with the identity given: " + strings.TrimPrefix(err.Error(), "sops: ")
		switch {
		case p == keep.RootCA:
			fatal = append(fatal, p+": "+why+"; meshgen does not replace the root CA on its own (that is a new trust root for every cluster): restore the file from Git history, or rotate the root deliberately (docs/certificates.md)")
		case strings.HasPrefix(p, keep.CredentialsDir+"/"):
			cluster := strings.TrimSuffix(path.Base(p), ".sops.yaml")
			fatal = append(fatal, p+": "+why+"; store the credential again with 'meshgen credentials set "+cluster+" --token-file F --ca-file F'")
		default:
			if len(tampered) == 0 {
				kept = make(map[string][]byte, len(prior))
				for k, v := range prior {
					kept[k] = v
				}
			}
			delete(kept, p)
			tampered[p] = why + "; written afresh"
		}
	}
	if len(fatal) > 0 {
		return nil, nil, &TamperedError{Items: fatal}
	}
	return kept, tampered, nil
}

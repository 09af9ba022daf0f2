package generator

import (
	"fmt"
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
)

// EncryptCredential renders a credential file, encrypted to recipients.
func EncryptCredential(cred secrets.Credential, recipients []string, opts Options) ([]byte, error) {
	return encryptSecret(secrets.CredentialDoc(cred), recipients, secrets.CredentialRegex, opts.Now)
}

// remoteSecrets returns, by watching primary, the remote secret files it
// gets, keyed by path.
func (g *gen) remoteSecrets() (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	var need, missing []string
	watched := g.topo.Watched()
	for _, watched := range sortedKeys(watched) {
		ws := g.topo.Cluster(watched).WatchedBy
		c := g.inv.Cluster(watched)
		credFile, ok := g.opts.Prior[CredentialPath(watched)]
		if !ok {
			missing = append(missing, fmt.Sprintf("cluster %q: no stored API credential (%s), needed by the istiod of %s to discover its endpoints; store it with: meshgen credentials set %s --token-file TOKEN --ca-file CA", watched, CredentialPath(watched), strings.Join(ws, ", "), watched))
			continue
		}
		fp, err := secrets.Fingerprint(credFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", CredentialPath(watched), err)
		}
		var cred *secrets.Credential
		for _, w := range ws {
			wc := g.inv.Cluster(w)
			p := RemoteSecretPath(w, watched)
			recipients := g.topo.Cluster(wc.Name).Recipients
			if prior, ok := g.opts.Prior[p]; ok && secrets.RemoteSecretCurrent(prior, c.APIServer, fp, recipients) {
				put(out, w, p, prior)
				continue
			}
			if cred == nil {
				if len(g.opts.Identities) == 0 {
					item := fmt.Sprintf("cluster %q: remote secret for %s must be written, which needs an operator's identity to read its stored credential", w, watched)
					if g.pend(p, item) {
						put(out, w, p, g.opts.Prior[p]) // nil for a new one
					} else {
						need = append(need, item)
					}
					continue
				}
				if cred, err = g.decryptCredential(watched, credFile); err != nil {
					return nil, err
				}
			}
			data, err := g.encryptRemoteSecret(cred, c, fp, recipients)
			if err != nil {
				return nil, err
			}
			g.tree.Reasons[p] = "remote secret for " + watched + " (credential or API server changed)"
			put(out, w, p, data)
		}
	}
	if len(missing) > 0 {
		return nil, &secrets.MissingCredentialError{Items: missing}
	}
	if len(need) > 0 {
		return nil, &secrets.NeedIdentityError{Items: need}
	}
	return out, nil
}

func put(m map[string]map[string][]byte, k, p string, data []byte) {
	if m[k] == nil {
		m[k] = map[string][]byte{}
	}
	m[k][p] = data
}

func (g *gen) decryptCredential(cluster string, file []byte) (*secrets.Credential, error) {
	doc, err := secrets.DecryptDoc(file, g.opts.Identities)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CredentialPath(cluster), err)
	}
	return secrets.CredentialOf(cluster, doc), nil
}

func (g *gen) encryptRemoteSecret(cred *secrets.Credential, c *inventory.Cluster, fp string, recipients []string) ([]byte, error) {
	doc, err := secrets.RemoteSecretDoc(cred, c.Name, c.APIServer, fp, IstioNamespace)
	if err != nil {
		return nil, err
	}
	return encryptSecret(doc, recipients, secrets.RemoteSecretRegex, g.opts.Now)
}

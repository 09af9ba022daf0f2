package generator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/sops"
)

// Remote secrets (DESIGN §2.5): the Secret `istioctl create-remote-secret`
// prints, built from a credential the operator stored once with
// `meshgen credentials set`.
const (
	remoteSecretRegex     = `^(stringData)$`
	credentialRegex       = `^(token)$`
	credentialAnnotation  = "meshgen.dev/credential"
	multiClusterLabel     = "istio/multiCluster"
	clusterNameAnnotation = "networking.istio.io/cluster"
)

// Credential is what `meshgen credentials set` stores for a cluster: the
// bearer token of its istio-reader-service-account and the CA of its API
// server. Only the token is encrypted.
type Credential struct {
	Cluster string
	Token   string
	CA      []byte
}

// EncryptCredential renders a credential file, encrypted to recipients.
func EncryptCredential(cred Credential, recipients []string, opts Options) ([]byte, error) {
	doc := &secretDoc{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Secret"},
		Metadata: ObjectMeta{Name: "meshgen-credential-" + cred.Cluster, Annotations: map[string]string{
			"meshgen.dev/purpose": "API credential of cluster " + cred.Cluster + " for remote secrets; never applied to a cluster",
		}},
		StringData: map[string]string{"ca.crt": string(cred.CA), "token": cred.Token},
	}
	return encryptSecret(doc, recipients, credentialRegex, opts.Now)
}

// credentialFingerprint identifies a stored credential's version without
// revealing it: a hash of its encrypted MAC, which changes whenever the
// credential is stored again.
func credentialFingerprint(file []byte) (string, error) {
	var doc struct {
		Sops struct {
			MAC string `json:"mac"`
		} `json:"sops"`
	}
	if err := yaml.Unmarshal(file, &doc); err != nil || doc.Sops.MAC == "" {
		return "", fmt.Errorf("not a SOPS file")
	}
	sum := sha256.Sum256([]byte(doc.Sops.MAC))
	return hex.EncodeToString(sum[:8]), nil
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
		fp, err := credentialFingerprint(credFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", CredentialPath(watched), err)
		}
		var cred *Credential
		for _, w := range ws {
			wc := g.inv.Cluster(w)
			p := RemoteSecretPath(w, watched)
			recipients := g.topo.Cluster(wc.Name).Recipients
			if prior, ok := g.opts.Prior[p]; ok && g.remoteSecretCurrent(prior, c, fp, recipients) {
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
		return nil, &MissingCredentialError{Items: missing}
	}
	if len(need) > 0 {
		return nil, &NeedIdentityError{Items: need}
	}
	return out, nil
}

// MissingCredentialError lists clusters whose API credential discovery
// needs but nobody stored.
type MissingCredentialError struct{ Items []string }

func (e *MissingCredentialError) Error() string { return strings.Join(e.Items, "\n") }

func put(m map[string]map[string][]byte, k, p string, data []byte) {
	if m[k] == nil {
		m[k] = map[string][]byte{}
	}
	m[k][p] = data
}

// remoteSecretCurrent reports whether a prior remote secret was built from
// the same credential, API server and recipients.
func (g *gen) remoteSecretCurrent(prior []byte, c *inventory.Cluster, fp string, recipients []string) bool {
	var doc secretDoc
	if yaml.Unmarshal(prior, &doc) != nil {
		return false
	}
	md, err := sops.ReadMetadata(prior)
	if err != nil {
		return false
	}
	return doc.Metadata.Annotations[credentialAnnotation] == fp+" "+c.APIServer &&
		strings.Join(sortedCopy(md.Recipients), ",") == strings.Join(recipients, ",")
}

func (g *gen) decryptCredential(cluster string, file []byte) (*Credential, error) {
	plain, err := sops.Decrypt(file, g.opts.Identities)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CredentialPath(cluster), err)
	}
	var doc secretDoc
	if err := yaml.Unmarshal(plain, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", CredentialPath(cluster), err)
	}
	return &Credential{Cluster: cluster, Token: doc.StringData["token"], CA: []byte(doc.StringData["ca.crt"])}, nil
}

// kubeconfig is the kubeconfig istiod reads from a remote secret.
type kubeconfig struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedCluster `json:"clusters"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Preferences    struct{}       `json:"preferences"`
	Users          []namedUser    `json:"users"`
}

type namedCluster struct {
	Name    string `json:"name"`
	Cluster struct {
		CertificateAuthorityData string `json:"certificate-authority-data"`
		Server                   string `json:"server"`
	} `json:"cluster"`
}

type namedContext struct {
	Name    string `json:"name"`
	Context struct {
		Cluster string `json:"cluster"`
		User    string `json:"user"`
	} `json:"context"`
}

type namedUser struct {
	Name string `json:"name"`
	User struct {
		Token string `json:"token"`
	} `json:"user"`
}

func (g *gen) encryptRemoteSecret(cred *Credential, c *inventory.Cluster, fp string, recipients []string) ([]byte, error) {
	kc := kubeconfig{APIVersion: "v1", Kind: "Config", CurrentContext: c.Name}
	var nc namedCluster
	nc.Name = c.Name
	nc.Cluster.Server = c.APIServer
	nc.Cluster.CertificateAuthorityData = base64.StdEncoding.EncodeToString(cred.CA)
	var ctx namedContext
	ctx.Name, ctx.Context.Cluster, ctx.Context.User = c.Name, c.Name, c.Name
	var u namedUser
	u.Name, u.User.Token = c.Name, cred.Token
	kc.Clusters, kc.Contexts, kc.Users = []namedCluster{nc}, []namedContext{ctx}, []namedUser{u}
	kcData, err := yaml.Marshal(kc)
	if err != nil {
		return nil, err
	}
	doc := &secretDoc{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Secret"},
		Metadata: ObjectMeta{
			Name:      "istio-remote-secret-" + c.Name,
			Namespace: IstioNamespace,
			Labels:    map[string]string{multiClusterLabel: "true"},
			Annotations: map[string]string{
				clusterNameAnnotation: c.Name,
				credentialAnnotation:  fp + " " + c.APIServer,
			},
		},
		StringData: map[string]string{c.Name: string(kcData)},
	}
	return encryptSecret(doc, recipients, remoteSecretRegex, g.opts.Now)
}

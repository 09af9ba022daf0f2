package secrets

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/sops"
)

// Remote secrets (DESIGN §2.5): the Secret `istioctl create-remote-secret`
// prints, built from a credential the operator stored once with
// `meshgen credentials set`.
const (
	credentialAnnotation  = "meshgen.dev/credential"
	multiClusterLabel     = "istio/multiCluster"
	clusterNameAnnotation = "networking.istio.io/cluster"
)

// Credential is what `meshgen credentials set` stores for a cluster: the
// bearer token of its istio-reader-service-account and the CA of its API
// server. Only the token is encrypted (CredentialRegex).
type Credential struct {
	Cluster string
	Token   string
	CA      []byte
}

// CredentialDoc is the document of a stored credential.
func CredentialDoc(cred Credential) *Doc {
	return secret(Meta{Name: "meshgen-credential-" + cred.Cluster, Annotations: map[string]string{
		"meshgen.dev/purpose": "API credential of cluster " + cred.Cluster + " for remote secrets; never applied to a cluster",
	}}, "", map[string]string{"ca.crt": string(cred.CA), "token": cred.Token})
}

// CredentialOf reads a credential back from its decrypted document.
func CredentialOf(cluster string, doc *Doc) *Credential {
	return &Credential{Cluster: cluster, Token: doc.StringData["token"], CA: []byte(doc.StringData["ca.crt"])}
}

// Fingerprint identifies a stored credential's version without revealing
// it: a hash of its encrypted MAC, which changes whenever the credential is
// stored again.
func Fingerprint(file []byte) (string, error) {
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

// RemoteSecretCurrent reports whether a prior remote secret was built from
// the credential with fingerprint fp, for apiServer, encrypted to
// recipients (sorted).
func RemoteSecretCurrent(prior []byte, apiServer, fp string, recipients []string) bool {
	var doc Doc
	if yaml.Unmarshal(prior, &doc) != nil {
		return false
	}
	md, err := sops.ReadMetadata(prior)
	if err != nil {
		return false
	}
	return doc.Metadata.Annotations[credentialAnnotation] == fp+" "+apiServer &&
		slices.Equal(SortedRecipients(md.Recipients), recipients)
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

// RemoteSecretDoc is the remote secret that lets an istiod in namespace
// watch cluster's API server at apiServer with cred; fp is the credential's
// Fingerprint, recorded so that a later run sees whether it is current.
func RemoteSecretDoc(cred *Credential, cluster, apiServer, fp, namespace string) (*Doc, error) {
	kc := kubeconfig{APIVersion: "v1", Kind: "Config", CurrentContext: cluster}
	var nc namedCluster
	nc.Name = cluster
	nc.Cluster.Server = apiServer
	nc.Cluster.CertificateAuthorityData = base64.StdEncoding.EncodeToString(cred.CA)
	var ctx namedContext
	ctx.Name, ctx.Context.Cluster, ctx.Context.User = cluster, cluster, cluster
	var u namedUser
	u.Name, u.User.Token = cluster, cred.Token
	kc.Clusters, kc.Contexts, kc.Users = []namedCluster{nc}, []namedContext{ctx}, []namedUser{u}
	kcData, err := yaml.Marshal(kc)
	if err != nil {
		return nil, err
	}
	return secret(Meta{
		Name:      "istio-remote-secret-" + cluster,
		Namespace: namespace,
		Labels:    map[string]string{multiClusterLabel: "true"},
		Annotations: map[string]string{
			clusterNameAnnotation: cluster,
			credentialAnnotation:  fp + " " + apiServer,
		},
	}, "", map[string]string{cluster: string(kcData)}), nil
}

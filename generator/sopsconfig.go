package generator

import (
	"regexp"
	"strings"

	"github.com/meshgen/meshgen/generator/secrets"
)

// sopsConfig is .sops.yaml: creation rules so that `sops edit` (and
// `sops updatekeys`) treat every secret meshgen writes the way meshgen
// does: the same recipients, only the private fields encrypted, and the MAC
// over the encrypted values only.
type sopsConfig struct {
	CreationRules []creationRule `json:"creation_rules"`
}

type creationRule struct {
	PathRegex        string `json:"path_regex"`
	EncryptedRegex   string `json:"encrypted_regex"`
	MACOnlyEncrypted bool   `json:"mac_only_encrypted"`
	Age              string `json:"age"`
}

func (g *gen) sopsConfig() []byte {
	rule := func(p, fields string, recipients []string) creationRule {
		return creationRule{
			PathRegex:        "(^|/)" + regexp.QuoteMeta(p) + "$",
			EncryptedRegex:   fields,
			MACOnlyEncrypted: true,
			Age:              strings.Join(recipients, ","),
		}
	}
	operators := sortedCopy(g.inv.Mesh.Recipients)
	cfg := sopsConfig{CreationRules: []creationRule{rule(RootCAPath, secrets.KeyFieldRegex, operators)}}
	// Secrets go only where istiod runs: cacerts, and the remote secrets
	// of the clusters it watches.
	for _, tc := range g.topo.Clusters() {
		if tc.NeedsCacerts() {
			cfg.CreationRules = append(cfg.CreationRules, rule(CacertsPath(tc.Name), secrets.KeyFieldRegex, tc.Recipients))
		}
	}
	for _, tc := range g.topo.Clusters() {
		if len(tc.Watches) == 0 {
			continue
		}
		cfg.CreationRules = append(cfg.CreationRules, creationRule{
			PathRegex:        "(^|/)" + regexp.QuoteMeta(StageDir(tc.Name, meshStage)+"/"+remoteSecretsDir+"/") + `[^/]+\.sops\.yaml$`,
			EncryptedRegex:   secrets.RemoteSecretRegex,
			MACOnlyEncrypted: true,
			Age:              strings.Join(tc.Recipients, ","),
		})
	}
	cfg.CreationRules = append(cfg.CreationRules, creationRule{
		PathRegex:        `(^|/)credentials/[^/]+\.sops\.yaml$`,
		EncryptedRegex:   secrets.CredentialRegex,
		MACOnlyEncrypted: true,
		Age:              strings.Join(operators, ","),
	})
	return g.marshalDocs(&cfg)
}

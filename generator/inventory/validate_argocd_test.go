package inventory

import (
	"strings"
	"testing"
)

// withArgoCD adds mesh.gitops.argocd (line 4) and API servers (lines 14
// and 19) to base.
func withArgoCD(argo string) string {
	s := strings.Replace(base, "mesh:\n", "mesh:\n  gitops: {argocd: "+argo+"}\n", 1)
	s = strings.Replace(s, "    eastWestGateway: {address: 203.0.113.10}\n", "    eastWestGateway: {address: 203.0.113.10}\n    apiServer: https://203.0.113.1:6443\n", 1)
	return strings.Replace(s, "    eastWestGateway: {address: gw.b.example.net}\n", "    eastWestGateway: {address: gw.b.example.net}\n    apiServer: https://198.51.100.1:6443\n", 1)
}

func TestArgoCDDefaults(t *testing.T) {
	inv, err := Load("inventory.yaml", []byte(withArgoCD("{repoURL: https://git.example.com/fleet.git}")))
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	a := inv.Mesh.GitOps.ArgoCD
	if a.TargetRevision != "HEAD" || a.Project != "default" || a.Path != "./" {
		t.Errorf("defaults not applied: %+v", a)
	}
}

func TestArgoCDErrors(t *testing.T) {
	for _, tc := range []struct {
		name, inv, want string
	}{
		{"repo-missing", withArgoCD("{project: mesh}"),
			"inventory.yaml:4:20: mesh.gitops.argocd.repoURL: required field is missing"},
		{"repo-not-url", withArgoCD("{repoURL: fleet}"),
			`inventory.yaml:4:30: mesh.gitops.argocd.repoURL: "fleet" is not a Git repository URL such as https://github.com/example/fleet.git or git@github.com:example/fleet.git`},
		{"bad-project", withArgoCD("{repoURL: 'git@github.com:x/y.git', project: My_Project}"),
			`inventory.yaml:4:65: mesh.gitops.argocd.project: "My_Project" is not an Argo CD project name (a DNS-1123 name such as default)`},
		{"bad-path", withArgoCD("{repoURL: 'ssh://git@git.example.com/fleet', path: ../up}"),
			`inventory.yaml:4:71: mesh.gitops.argocd.path: "../up" is not a path inside the repository such as ./ or ./clusters/mesh`},
		{"no-destination", strings.Replace(withArgoCD("{repoURL: https://git.example.com/fleet.git}"), "    apiServer: https://198.51.100.1:6443\n", "", 1),
			`inventory.yaml:19:5: clusters[1].apiServer: cluster "b" needs apiServer or destinationName: with mesh.gitops.argocd it is the destination of the cluster's Argo CD Applications`},
		{"destination-without-argocd", strings.Replace(base, "  - name: b\n", "  - name: b\n    destinationName: in-cluster\n", 1),
			`inventory.yaml:18:22: clusters[1].destinationName: is only used with mesh.gitops.argocd, which is not set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Load("inventory.yaml", []byte(tc.inv))
			if err == nil {
				err = inv.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestArgoCDDestinationName(t *testing.T) {
	s := strings.Replace(withArgoCD("{repoURL: https://git.example.com/fleet.git}"), "    apiServer: https://198.51.100.1:6443\n", "    destinationName: cluster-b\n", 1)
	inv, err := Load("inventory.yaml", []byte(s))
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
}

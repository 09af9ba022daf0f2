package inventory

import (
	"fmt"
	"regexp"
	"strings"
)

// gitURL accepts the repository URLs Argo CD clones: https, http, ssh and
// git URLs, and the scp-like form git@host:owner/repo.git.
var gitURL = regexp.MustCompile(`^((https?|ssh|git)://[^\s/]+(/\S*)?|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$`)

// argoCD checks mesh.gitops.argocd and each cluster's Argo CD destination.
func (v *validator) argoCD() {
	inv := v.inv
	var a *ArgoCD
	if inv.Mesh.GitOps != nil {
		a = inv.Mesh.GitOps.ArgoCD
	}
	if a == nil {
		for i, c := range inv.Clusters {
			if c.DestinationName != "" {
				v.errorf(fmt.Sprintf("clusters[%d].destinationName", i), "is only used with mesh.gitops.argocd, which is not set")
			}
		}
		return
	}
	const at = "mesh.gitops.argocd"
	if v.required(at+".repoURL", a.RepoURL) && !gitURL.MatchString(a.RepoURL) {
		v.errorf(at+".repoURL", "%q is not a Git repository URL such as https://github.com/example/fleet.git or git@github.com:example/fleet.git", a.RepoURL)
	}
	if strings.ContainsFunc(a.TargetRevision, isSpaceOrControl) {
		v.errorf(at+".targetRevision", "%q is not a branch, tag or commit", a.TargetRevision)
	}
	if len(a.Project) > 253 || !dns1123Subdomain.MatchString(a.Project) {
		v.errorf(at+".project", "%q is not an Argo CD project name (a DNS-1123 name such as default)", a.Project)
	}
	if p := a.Path; !strings.HasPrefix(p, "./") || strings.Contains(p, "..") || strings.ContainsFunc(p, isSpaceOrControl) {
		v.errorf(at+".path", "%q is not a path inside the repository such as ./ or ./clusters/mesh", p)
	}
	for i, c := range inv.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		switch {
		case c.DestinationName != "":
			if len(c.DestinationName) > 253 || strings.ContainsFunc(c.DestinationName, isSpaceOrControl) {
				v.errorf(p+".destinationName", "%q is not an Argo CD cluster name", c.DestinationName)
			}
		case c.APIServer == "":
			v.errorf(p+".apiServer", "cluster %q needs apiServer or destinationName: with mesh.gitops.argocd it is the destination of the cluster's Argo CD Applications", c.Name)
		}
	}
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

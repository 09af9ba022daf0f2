package inventory

import (
	"fmt"
	"slices"
)

// The installers of mesh.istio.installer.
const (
	InstallerHelm     = "helm"
	InstallerIstioctl = "istioctl"
	InstallerSail     = "sail"
	InstallerOperator = "operator"
)

// Installers are the values mesh.istio.installer accepts.
var Installers = []string{InstallerHelm, InstallerIstioctl, InstallerSail, InstallerOperator}

// operatorRemovedIn is the Istio release that removed the in-cluster
// IstioOperator controller: from it on, nothing reconciles an IstioOperator
// object applied to a cluster.
const operatorRemovedIn = "1.24.0"

// SailVersions are the Istio releases the Sail operator installs: the enum
// of spec.version of its Istio CRD (sail-operator 1.30.3, vendored in
// tools/crds/sail, whose test keeps this list equal to it), without the
// "v" prefix and the moving vX.Y-latest aliases, which a pinned inventory
// never names.
var SailVersions = []string{
	"1.21.6",
	"1.22.5", "1.22.6", "1.22.7", "1.22.8",
	"1.23.2", "1.23.3", "1.23.4", "1.23.5", "1.23.6",
	"1.24.0", "1.24.1", "1.24.2", "1.24.3", "1.24.4", "1.24.5", "1.24.6",
	"1.25.1", "1.25.2", "1.25.3", "1.25.4", "1.25.5",
	"1.26.0", "1.26.1", "1.26.2", "1.26.3", "1.26.4", "1.26.5", "1.26.6", "1.26.7", "1.26.8",
	"1.27.0", "1.27.1", "1.27.2", "1.27.3", "1.27.4", "1.27.5", "1.27.6", "1.27.7", "1.27.8", "1.27.9",
	"1.28.0", "1.28.1", "1.28.2", "1.28.3", "1.28.4", "1.28.5", "1.28.6", "1.28.7", "1.28.8", "1.28.9", "1.28.10",
	"1.29.0", "1.29.1", "1.29.2", "1.29.3", "1.29.4", "1.29.5", "1.29.6",
	"1.30.0", "1.30.1", "1.30.2", "1.30.3",
}

// installer checks mesh.istio.installer against the Istio releases it
// pins: every version the inventory names (the single revision's, or each
// of revisions).
func (v *validator) installer() {
	is := v.inv.Mesh.Istio
	v.oneOf("mesh.istio.installer", is.Installer, Installers...)
	type pinned struct{ path, version string }
	var versions []pinned
	if len(is.Revisions) == 0 {
		versions = append(versions, pinned{"mesh.istio.version", is.Version})
	}
	for i, r := range is.Revisions {
		versions = append(versions, pinned{fmt.Sprintf("mesh.istio.revisions[%d].version", i), r.Version})
	}
	switch is.Installer {
	case InstallerOperator:
		for _, p := range versions {
			if versionRE.MatchString(p.version) && releaseAtLeast(p.version, operatorRemovedIn) {
				v.errorf("mesh.istio.installer", "installer operator applies IstioOperator objects, which nothing reconciles since Istio 1.24 removed the in-cluster operator (%s is %s); use installer: sail (the Sail operator's Istio resources) or installer: istioctl (istioctl install -f on the IstioOperator files)", p.path, p.version)
				return
			}
		}
	case InstallerSail:
		for _, p := range versions {
			if versionRE.MatchString(p.version) && !slices.Contains(SailVersions, p.version) {
				v.errorf(p.path, "the Sail operator does not install Istio %s: its Istio resource's spec.version accepts %s to %s (sail-operator 1.30.3, missing patch releases excepted)", p.version, SailVersions[0], SailVersions[len(SailVersions)-1])
			}
		}
		if is.Revision == DefaultTag {
			v.errorf("mesh.istio.revision", "the Sail operator installs the Istio resource named default as the unnamed revision (values.revision \"\", Service istiod), not as revision default; leave revision empty, or name the revision by its version, e.g. 1-28")
		}
		if g := v.inv.Mesh.GitOps; g != nil && g.ArgoCD != nil {
			v.errorf("mesh.gitops.argocd", "installer sail cannot be delivered by Argo CD: Argo CD ships no health check for the Sail operator's resources, so no sync wave waits for istiod, and the east-west gateway would start before istiod can inject it; deliver with gitops.flux, or use installer helm with Argo CD")
		}
	}
}

package generator

import (
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
)

// Remediation every HelmRelease carries, as Flux's helm-controller docs
// recommend for releases that must keep running: a failed install is
// retried (after an uninstall of the failed attempt, the only remediation
// an install has), and a failed upgrade is rolled back to the release
// that ran before, including on the last retry, so that a bad chart
// version never leaves istiod half-upgraded.
const remediationRetries = 3

func withRemediation(hr *HelmRelease) {
	hr.Spec.Install = &HelmInstall{Remediation: &InstallRemediation{Retries: remediationRetries}}
	hr.Spec.Upgrade = &HelmUpgrade{Remediation: &UpgradeRemediation{
		Retries:              remediationRetries,
		RemediateLastFailure: true,
		Strategy:             "rollback",
	}}
}

// istiodReleases returns one istiod HelmRelease per control plane
// revision, from the template release: each its own Helm release
// (istiod-<rev>, or istiod for the revision the single-revision form
// installed, so that moving to revisions keeps it running), with
// values.revision and the revision tags that point at it (the istiod
// chart's revisionTags writes each tag's injection webhook and Service).
func istiodReleases(tmpl HelmRelease, values istiodChartValues, revs []inventory.RevisionSpec) []*HelmRelease {
	out := make([]*HelmRelease, 0, len(revs))
	for _, r := range revs {
		hr := tmpl
		hr.Metadata.Name = r.Release
		hr.Spec.ReleaseName = r.Release
		hr.Spec.Chart.Spec.Version = r.Version
		v := values
		v.Revision = r.Name
		v.RevisionTags = r.Tags
		hr.Spec.Values = v
		out = append(out, &hr)
	}
	return out
}

// newestVersion returns the newest of the revisions' Istio versions: the
// base chart (CRDs, which newer releases only extend) follows it, as
// Istio's canary upgrade guide upgrades the base chart before installing
// the new revision.
func newestVersion(revs []inventory.RevisionSpec) string {
	newest := ""
	for _, r := range revs {
		if newest == "" || inventory.CompareVersions(r.Version, newest) > 0 {
			newest = r.Version
		}
	}
	return newest
}

// revisionsText is MESH.md's account of the control plane revisions:
// "Istio 1.28.2 (revision 1-28)", or with revisions "Istio revisions
// 1-27-3 (1.27.3; tags default), 1-28-2 (1.28.2; tags canary)".
func revisionsText(is inventory.Istio) string {
	if len(is.Revisions) == 0 {
		s := "Istio " + is.Version
		if is.Revision != "" {
			s += " (revision " + is.Revision + ")"
		}
		return s
	}
	var parts []string
	for _, r := range is.RevisionSpecs() {
		p := r.Name + " (" + r.Version
		if len(r.Tags) > 0 {
			p += "; tags " + strings.Join(r.Tags, ", ")
		}
		parts = append(parts, p+")")
	}
	return "Istio revisions " + strings.Join(parts, ", ")
}

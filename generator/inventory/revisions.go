package inventory

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultTag is the revision tag that serves istio-injection=enabled,
// validates Istio config and runs the east-west gateway.
const DefaultTag = "default"

// RevisionSpec is one control plane revision to run, from either form of
// mesh.istio.
type RevisionSpec struct {
	// Name is values.revision ("" for the unnamed revision of the
	// single-revision form).
	Name    string
	Version string
	// Tags are the revision tags that point at it, sorted.
	Tags []string
	// Release is its istiod HelmRelease: istiod for the revision the
	// single-revision form installed, istiod-<name> for the others.
	Release string
}

// RevisionSpecs returns the control plane revisions to run, in the order
// written. The single-revision form is one revision released as istiod.
func (i Istio) RevisionSpecs() []RevisionSpec {
	if len(i.Revisions) == 0 {
		return []RevisionSpec{{Name: i.Revision, Version: i.Version, Release: "istiod"}}
	}
	tags := slices.Sorted(maps.Keys(i.Tags))
	out := make([]RevisionSpec, 0, len(i.Revisions))
	for _, r := range i.Revisions {
		rs := RevisionSpec{Name: r.Name, Version: r.Version, Release: "istiod-" + r.Name}
		if r.Name == i.Revision {
			rs.Release = "istiod"
		}
		for _, t := range tags {
			if i.Tags[t] == r.Name {
				rs.Tags = append(rs.Tags, t)
			}
		}
		out = append(out, rs)
	}
	return out
}

// DefaultRevision is the revision the default tag points at (the single
// revision of the single-revision form): it validates Istio config and
// runs the gateways.
func (i Istio) DefaultRevision() RevisionSpec {
	specs := i.RevisionSpecs()
	if len(i.Revisions) == 0 {
		return specs[0]
	}
	for _, s := range specs {
		if s.Name == i.Tags[DefaultTag] {
			return s
		}
	}
	return specs[0]
}

// revisions checks mesh.istio's revisions and tags.
func (v *validator) revisions() {
	is := v.inv.Mesh.Istio
	if len(is.Revisions) == 0 {
		if len(is.Tags) > 0 {
			v.errorf("mesh.istio.tags", "revision tags need mesh.istio.revisions (the single-revision form has no tags)")
		}
		return
	}
	if is.Version != "" {
		v.errorf("mesh.istio.version", "set either version (one revision) or revisions, not both: each revision names its own version")
	}
	if is.Installer != InstallerHelm && is.Installer != InstallerSail {
		v.errorf("mesh.istio.revisions", "revisions need installer helm or sail (one istiod HelmRelease or Sail Istio resource per revision); installer %s installs one control plane", is.Installer)
	}
	for _, c := range v.inv.Clusters {
		if c.Role == RoleRemote {
			v.errorf("mesh.istio.revisions", "revisions are not supported in a mesh with remote clusters: remote %s reaches one istiod through its primary's east-west gateway (docs/upgrades.md)", c.Name)
			break
		}
	}
	names := map[string]bool{}
	for i, r := range is.Revisions {
		p := fmt.Sprintf("mesh.istio.revisions[%d]", i)
		v.label(p+".name", r.Name)
		if r.Name == DefaultTag {
			v.errorf(p+".name", "%q is Istio's name for the default revision tag; name the revision by its version, e.g. 1-28-2", r.Name)
		}
		if names[r.Name] && r.Name != "" {
			v.errorf(p+".name", "duplicate revision %q", r.Name)
		}
		names[r.Name] = true
		if v.required(p+".version", r.Version) && !versionRE.MatchString(r.Version) {
			v.errorf(p+".version", "%q is not a version such as 1.28.2", r.Version)
		}
	}
	if is.Revision != "" && !names[is.Revision] {
		v.errorf("mesh.istio.revision", "names revision %q, which revisions does not list: once that revision is removed, remove revision too", is.Revision)
	}
	if _, ok := is.Tags[DefaultTag]; !ok {
		v.errorf("mesh.istio.tags", "a %q tag is required with revisions: it serves istio-injection=enabled namespaces, validates Istio config and runs the east-west gateway", DefaultTag)
	}
	known := make([]string, 0, len(is.Revisions))
	for _, r := range is.Revisions {
		known = append(known, r.Name)
	}
	for _, t := range slices.Sorted(maps.Keys(is.Tags)) {
		p := "mesh.istio.tags." + t
		if len(t) > 63 || !dns1123Label.MatchString(t) {
			v.errorf(p, "tag %q is not a DNS-1123 label", t)
		}
		if names[t] {
			v.errorf(p, "tag %q has the name of a revision; Istio refuses a tag named like a revision", t)
		}
		if rev := is.Tags[t]; !names[rev] {
			v.errorf(p, "tag %s points at revision %q, which revisions does not list (known: %s): move the tag before removing its revision", t, rev, strings.Join(known, ", "))
		}
	}
}

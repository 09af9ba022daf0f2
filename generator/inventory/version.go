package inventory

import (
	"strings"

	"golang.org/x/mod/semver"
)

// CompareVersions compares two Istio versions (x.y.z[-pre], validated) as
// semantic versions: numbers by value, a pre-release before its release.
func CompareVersions(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// releaseAtLeast reports whether version a is release b (x.y.z) or later;
// a pre-release of b counts as b, since release gates (the operator's
// removal, ambient multicluster) apply to b's pre-releases too.
func releaseAtLeast(a, b string) bool {
	release, _, _ := strings.Cut(a, "-")
	return CompareVersions(release, b) >= 0
}

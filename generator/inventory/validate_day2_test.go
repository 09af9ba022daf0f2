package inventory

import (
	"strings"
	"testing"
)

// revs is the istio block of base rewritten for revisions.
func revs(block string) func(string) string {
	return repl("  istio:\n    version: 1.28.2\n", "  istio:\n"+block)
}

// withLocality gives cluster a (line 13) a locality, leaving b without one.
func withLocality(s string) string {
	return strings.Replace(s, "    network: net1\n", "    network: net1\n    locality: {region: eu-west-1}\n", 1)
}

func TestValidateDay2(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
		want string
	}{
		{"version beside revisions", revs("    version: 1.28.2\n    revisions: [{name: 1-28-2, version: 1.28.2}]\n    tags: {default: 1-28-2}\n"),
			"inventory.yaml:7:14: mesh.istio.version: set either version (one revision) or revisions, not both: each revision names its own version"},
		{"revisions need the default tag", revs("    revisions: [{name: 1-28-2, version: 1.28.2}]\n"),
			`inventory.yaml:7:5: mesh.istio.tags: a "default" tag is required with revisions: it serves istio-injection=enabled namespaces, validates Istio config and runs the east-west gateway`},
		{"tag points at a removed revision", revs("    revisions: [{name: 1-28-2, version: 1.28.2}]\n    tags: {default: 1-27-3}\n"),
			`inventory.yaml:8:21: mesh.istio.tags.default: tag default points at revision "1-27-3", which revisions does not list (known: 1-28-2): move the tag before removing its revision`},
		{"revision field names a removed revision", revs("    revision: 1-27-3\n    revisions: [{name: 1-28-2, version: 1.28.2}]\n    tags: {default: 1-28-2}\n"),
			`inventory.yaml:7:15: mesh.istio.revision: names revision "1-27-3", which revisions does not list: once that revision is removed, remove revision too`},
		{"duplicate revision", revs("    revisions: [{name: a1, version: 1.28.2}, {name: a1, version: 1.28.1}]\n    tags: {default: a1}\n"),
			`inventory.yaml:7:53: mesh.istio.revisions[1].name: duplicate revision "a1"`},
		{"revision named default", revs("    revisions: [{name: default, version: 1.28.2}]\n    tags: {canary: default}\n"),
			"inventory.yaml:7:24: mesh.istio.revisions[0].name: \"default\" is Istio's name for the default revision tag; name the revision by its version, e.g. 1-28-2\n" +
				`inventory.yaml:8:11: mesh.istio.tags: a "default" tag is required with revisions: it serves istio-injection=enabled namespaces, validates Istio config and runs the east-west gateway`},
		{"tag named like a revision", revs("    revisions: [{name: a1, version: 1.28.2}, {name: b1, version: 1.28.1}]\n    tags: {default: a1, b1: a1}\n"),
			`inventory.yaml:8:29: mesh.istio.tags.b1: tag "b1" has the name of a revision; Istio refuses a tag named like a revision`},
		{"bad revision version", revs("    revisions: [{name: a1, version: latest}]\n    tags: {default: a1}\n"),
			`inventory.yaml:7:37: mesh.istio.revisions[0].version: "latest" is not a version such as 1.28.2`},
		{"tags without revisions", repl("    version: 1.28.2\n", "    version: 1.28.2\n    tags: {default: x}\n"),
			"inventory.yaml:8:11: mesh.istio.tags: revision tags need mesh.istio.revisions (the single-revision form has no tags)"},
		{"revisions with another installer", revs("    installer: istioctl\n    revisions: [{name: a1, version: 1.28.2}]\n    tags: {default: a1}\n"),
			"inventory.yaml:8:16: mesh.istio.revisions: revisions need installer helm or sail (one istiod HelmRelease or Sail Istio resource per revision); installer istioctl installs one control plane"},
		{"operator installer on Istio 1.24 or later", revs("    version: 1.24.0\n    installer: operator\n"),
			"inventory.yaml:8:16: mesh.istio.installer: installer operator applies IstioOperator objects, which nothing reconciles since Istio 1.24 removed the in-cluster operator (mesh.istio.version is 1.24.0); use installer: sail (the Sail operator's Istio resources) or installer: istioctl (istioctl install -f on the IstioOperator files)"},
		{"operator installer on a pre-release of 1.24", revs("    version: 1.24.0-beta.1\n    installer: operator\n"),
			"inventory.yaml:8:16: mesh.istio.installer: installer operator applies IstioOperator objects, which nothing reconciles since Istio 1.24 removed the in-cluster operator (mesh.istio.version is 1.24.0-beta.1); use installer: sail (the Sail operator's Istio resources) or installer: istioctl (istioctl install -f on the IstioOperator files)"},
		{"operator installer with a 1.24 revision", revs("    installer: operator\n    revisions: [{name: a1, version: 1.23.6}, {name: b1, version: 1.28.2}]\n    tags: {default: a1}\n"),
			"inventory.yaml:7:16: mesh.istio.installer: installer operator applies IstioOperator objects, which nothing reconciles since Istio 1.24 removed the in-cluster operator (mesh.istio.revisions[1].version is 1.28.2); use installer: sail (the Sail operator's Istio resources) or installer: istioctl (istioctl install -f on the IstioOperator files)\n" +
				"inventory.yaml:8:16: mesh.istio.revisions: revisions need installer helm or sail (one istiod HelmRelease or Sail Istio resource per revision); installer operator installs one control plane"},
		{"sail installs no such version", revs("    version: 1.28.11\n    installer: sail\n"),
			"inventory.yaml:7:14: mesh.istio.version: the Sail operator does not install Istio 1.28.11: its Istio resource's spec.version accepts 1.21.6 to 1.30.3 (sail-operator 1.30.3, missing patch releases excepted)"},
		{"sail revision of no such version", revs("    installer: sail\n    revisions: [{name: a1, version: 1.31.0}]\n    tags: {default: a1}\n"),
			"inventory.yaml:8:37: mesh.istio.revisions[0].version: the Sail operator does not install Istio 1.31.0: its Istio resource's spec.version accepts 1.21.6 to 1.30.3 (sail-operator 1.30.3, missing patch releases excepted)"},
		{"sail with a revision named default", revs("    version: 1.28.2\n    revision: default\n    installer: sail\n"),
			`inventory.yaml:8:15: mesh.istio.revision: the Sail operator installs the Istio resource named default as the unnamed revision (values.revision "", Service istiod), not as revision default; leave revision empty, or name the revision by its version, e.g. 1-28`},
		{"sail with Argo CD", func(s string) string {
			s = revs("    version: 1.28.2\n    installer: sail\n")(s)
			s = strings.Replace(s, "  id: mesh1\n", "  id: mesh1\n  gitops: {argocd: {repoURL: https://git.example.com/fleet.git}}\n", 1)
			return strings.ReplaceAll(s, "    network: net", "    destinationName: in-cluster\n    network: net")
		}, "inventory.yaml:5:20: mesh.gitops.argocd: installer sail cannot be delivered by Argo CD: Argo CD ships no health check for the Sail operator's resources, so no sync wave waits for istiod, and the east-west gateway would start before istiod can inject it; deliver with gitops.flux, or use installer helm with Argo CD"},
		{"tags not a mapping", revs("    revisions: [{name: a1, version: 1.28.2}]\n    tags: [a1]\n"),
			"inventory.yaml:8:11: mesh.istio.tags: must be a mapping, not a list"},
		{"failover without localities", func(s string) string {
			return strings.Replace(withLocality(s), "    clusters: [a]\n", "    clusters: [a, b]\n    trafficPolicy: {failover: locality}\n", 1)
		}, "inventory.yaml:27:31: services[0].trafficPolicy.failover: locality failover for svc.foo needs a locality on every cluster it runs in; cluster b has none (set clusters[].locality, or failover: none)"},
		{"mesh-wide failover without localities", func(s string) string {
			s = strings.Replace(s, "  id: mesh1\n", "  id: mesh1\n  trafficPolicy: {failover: locality}\n", 1)
			return strings.Replace(s, "    clusters: [a]\n", "    clusters: [b]\n", 1)
		}, "inventory.yaml:26:15: services[0].clusters: locality failover for svc.foo needs a locality on every cluster it runs in; cluster b has none (set clusters[].locality, or failover: none)"},
		{"unknown failover", repl("    clusters: [a]\n", "    clusters: [a]\n    trafficPolicy: {failover: region}\n"),
			`inventory.yaml:26:31: services[0].trafficPolicy.failover: "region" is not one of: locality, none`},
		{"failoverPriority without failover", repl("    clusters: [a]\n", "    clusters: [a]\n    trafficPolicy: {failoverPriority: [topology.kubernetes.io/region]}\n"),
			"inventory.yaml:26:39: services[0].trafficPolicy.failoverPriority: failoverPriority needs failover: locality (svc.foo has failover: none)"},
		{"bad failoverPriority label", func(s string) string {
			return strings.Replace(withLocality(s), "    clusters: [a]\n", "    clusters: [a]\n    trafficPolicy: {failoverPriority: [\"not a label\", topology.kubernetes.io/region, topology.kubernetes.io/region]}\n", 1)
		}, "inventory.yaml:27:40: services[0].trafficPolicy.failoverPriority[0]: \"not a label\" is not a label key such as topology.kubernetes.io/region\n" +
			"inventory.yaml:27:86: services[0].trafficPolicy.failoverPriority[2]: duplicate label \"topology.kubernetes.io/region\""},
		{"outlier detection out of Istio's ranges", repl("  id: mesh1\n", "  id: mesh1\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: -1, interval: 500us, baseEjectionTime: 1500500us, maxEjectionPercent: 101}\n"),
			"inventory.yaml:6:46: mesh.trafficPolicy.outlierDetection.consecutive5xxErrors: -1 is negative (0 disables it)\n" +
				"inventory.yaml:6:60: mesh.trafficPolicy.outlierDetection.interval: 500µs is shorter than Istio's minimum of 1ms\n" +
				"inventory.yaml:6:85: mesh.trafficPolicy.outlierDetection.baseEjectionTime: 1.5005s is finer than the millisecond precision Istio accepts\n" +
				"inventory.yaml:6:116: mesh.trafficPolicy.outlierDetection.maxEjectionPercent: 101 is not a percentage (0-100)"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantEditError(t, base, tc.edit, tc.want) })
	}
}

// TestPolicyDefaults: failover locality by default where every cluster
// the service runs in has a locality, with the documented outlier
// detection; a service's fields override the mesh-wide ones one by one.
func TestPolicyDefaults(t *testing.T) {
	src := strings.Replace(withLocality(base), "  id: mesh1\n", "  id: mesh1\n  trafficPolicy: {outlierDetection: {interval: 3s}}\n", 1)
	src = strings.Replace(src, "    clusters: [a]\n", "    clusters: [a]\n  - name: other\n    namespace: foo\n    ports: [{name: http, port: 8080, protocol: HTTP}]\n    clusters: [b]\n    trafficPolicy: {outlierDetection: {maxEjectionPercent: 10}}\n", 1)
	inv, err := Load("inventory.yaml", []byte(src))
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	p := inv.PolicyOf(&inv.Services[0])
	if p.Failover != FailoverLocality || p.Outlier == nil || p.Outlier.Interval.String() != "3s" || p.Outlier.Consecutive5xxErrors != 5 || p.Outlier.MaxEjectionPercent != 100 {
		t.Errorf("svc (cluster a has a locality): %+v %+v", p, p.Outlier)
	}
	q := inv.PolicyOf(&inv.Services[1])
	if q.Failover != FailoverNone || q.Outlier == nil || q.Outlier.MaxEjectionPercent != 10 || q.Outlier.Interval.String() != "10s" {
		t.Errorf("other (cluster b has none): %+v %+v", q, q.Outlier)
	}
}

package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
)

// Delivery checks: the Flux Kustomizations and the Argo CD ApplicationSet
// validate against the CRD schemas of the releases .ci/tools.sh pins, and
// every Argo CD stage kustomization builds with the kustomize CLI, its KSOPS
// generator and Istio's charts run for real (a stand-in ksops that decrypts
// with the real sops; local stand-in charts rendered by the real helm).

// crdSchemas compiles the openAPIV3Schema of every version of a CRD file in
// .bin/crds, keyed by version. Objects are checked as the API server's strict
// field validation does: a field the schema does not declare is an error.
func crdSchemas(t *testing.T, file string) map[string]*jsonschema.Schema {
	t.Helper()
	p := filepath.Join(testtools.ModuleRoot(t), ".bin", "crds", file)
	data, err := os.ReadFile(p)
	if err != nil {
		msg := fmt.Sprintf("%s missing (run .ci/tools.sh)", p)
		if os.Getenv("CI") == "" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return compileCRD(t, file, data)
}

// compileCRD compiles the openAPIV3Schema of every version of a CRD,
// keyed by version, closed to undeclared fields (closeObjects).
func compileCRD(t *testing.T, file string, data []byte) map[string]*jsonschema.Schema {
	t.Helper()
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, v := range crd.Spec.Versions {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v.Schema.OpenAPIV3Schema))
		if err != nil {
			t.Fatal(err)
		}
		closeObjects(doc)
		c := jsonschema.NewCompiler()
		url := file + "/" + v.Name + ".json"
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		if out[v.Name], err = c.Compile(url); err != nil {
			t.Fatalf("%s %s: %v", file, v.Name, err)
		}
	}
	return out
}

// closeObjects forbids undeclared fields in every object schema that lists
// its properties and does not preserve unknown fields.
func closeObjects(s any) {
	switch s := s.(type) {
	case map[string]any:
		_, props := s["properties"]
		_, addl := s["additionalProperties"]
		if props && !addl && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		for _, v := range s {
			closeObjects(v)
		}
	case []any:
		for _, v := range s {
			closeObjects(v)
		}
	}
}

// validateDocs validates every document of a generated file whose kind is
// kind against the schema of its apiVersion's version.
func validateDocs(t *testing.T, what string, data []byte, kind string, schemas map[string]*jsonschema.Schema) int {
	t.Helper()
	n := 0
	for _, d := range splitDocs(data) {
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := inst.(map[string]any)
		if m["kind"] != kind {
			t.Errorf("%s: kind %v, want %s", what, m["kind"], kind)
			continue
		}
		av, _ := m["apiVersion"].(string)
		sch := schemas[av[strings.LastIndex(av, "/")+1:]]
		if sch == nil {
			t.Errorf("%s: the CRD serves no version of %s", what, av)
			continue
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: %s does not validate against its CRD schema:\n%v", what, kind, err)
		}
		n++
	}
	return n
}

func TestGitOpsCRDSchemas(t *testing.T) {
	flux := crdSchemas(t, "kustomize.toolkit.fluxcd.io_kustomizations.yaml")
	appset := crdSchemas(t, "applicationset-crd.yaml")
	var fluxN, argoN int
	for _, sc := range loadScenarios(t) {
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, priorOf(sc.arch))))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tree.Files {
			switch {
			case strings.HasPrefix(f.Path, "flux/"):
				fluxN += validateDocs(t, sc.file+": "+f.Path, f.Data, "Kustomization", flux)
			case f.Path == ApplicationSetPath:
				argoN += validateDocs(t, sc.file+": "+f.Path, f.Data, "ApplicationSet", appset)
			}
		}
	}
	if fluxN == 0 || argoN == 0 {
		t.Errorf("validated %d Flux Kustomizations and %d ApplicationSets; want some of each", fluxN, argoN)
	}
}

// TestCRDSchemaCatchesMistakes keeps the schema check honest: an unknown
// field and a wrong type fail it.
func TestCRDSchemaCatchesMistakes(t *testing.T) {
	flux := crdSchemas(t, "kustomize.toolkit.fluxcd.io_kustomizations.yaml")
	for _, bad := range []string{
		"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\nspec: {interval: 10m, prune: true, sourceRef: {kind: GitRepository, name: f}, wiat: true}\n",
		"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\nspec: {interval: 10m, prune: \"yes\", sourceRef: {kind: GitRepository, name: f}}\n",
	} {
		ft := &testing.T{}
		done := make(chan struct{})
		go func() { defer close(done); validateDocs(ft, "bad", []byte(bad), "Kustomization", flux) }()
		<-done
		if !ft.Failed() {
			t.Errorf("schema accepted:\n%s", bad)
		}
	}
}

// fakeKSOPS stands in for KSOPS: a KRM exec function that decrypts every
// file of its functionConfig with the real sops and returns the Secrets.
const fakeKSOPS = `#!/bin/sh
set -e
files=$(sed -n '/^functionConfig:/,$ s/^[[:space:]]*- \(.*\.sops\.yaml\)$/\1/p')
echo "apiVersion: config.kubernetes.io/v1"
echo "kind: ResourceList"
echo "items:"
for f in $files; do
  "$SOPS" -d "$f" | awk '/^#/ || /^---$/ {next} { if (!n++) print "- " $0; else print "  " $0 }'
done
`

// fakeChart is a local stand-in for one of Istio's charts: it renders its
// values into a ConfigMap, so the test sees what helm was given.
func fakeChart(t *testing.T, dir, name, version string) {
	t.Helper()
	files := map[string]string{
		"values.yaml":           "{}\n",
		"Chart.yaml":            "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n",
		"templates/values.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values-{{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  values: {{ toJson .Values | quote }}\n",
	}
	for p, data := range files {
		p = filepath.Join(dir, name, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestArgoCDStagesBuild builds every Argo CD stage kustomization with the
// kustomize CLI and the build options docs/delivery-argocd.md sets in
// argocd-cm.
func TestArgoCDStagesBuild(t *testing.T) {
	kustomize := testtools.Find(t, "kustomize")
	helm := testtools.Find(t, "helm")
	sops := testtools.Find(t, "sops")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ksops"), []byte(fakeKSOPS), 0o755); err != nil {
		t.Fatal(err)
	}
	key, err := filepath.Abs("../testdata/age/test-only-operator.agekey")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("SOPS", sops)
	t.Setenv("SOPS_AGE_KEY_FILE", key)
	n := 0
	for _, sc := range loadScenarios(t) {
		if sc.inv.Mesh.GitOps == nil || sc.inv.Mesh.GitOps.ArgoCD == nil {
			continue
		}
		dir, tree := writeScenario(t, sc)
		for _, f := range tree.Files {
			if !strings.HasPrefix(f.Path, ArgoCDDir+"/") || filepath.Base(f.Path) != "kustomization.yaml" {
				continue
			}
			var k ArgoKustomization
			if err := yaml.UnmarshalStrict(f.Data, &k); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			for _, ch := range k.HelmCharts {
				// kustomize pulls a chart with a version into charts/<name>-<version>.
				fakeChart(t, filepath.Join(dir, filepath.Dir(f.Path), "charts", ch.Name+"-"+ch.Version), ch.Name, ch.Version)
			}
		}
		for _, c := range sc.inv.Clusters {
			for _, st := range []string{installStage, meshStage} {
				stageDir := ArgoStageDir(c.Name, st)
				out := testtools.Run(t, dir, kustomize, "build",
					"--enable-alpha-plugins", "--enable-exec", "--enable-helm", "--helm-command", helm,
					"--load-restrictor", "LoadRestrictionsNone", stageDir)
				checkArgoStage(t, sc, tree, c.Name, st, out)
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no scenario with mesh.gitops.argocd")
	}
}

// checkArgoStage compares a built Argo CD stage with the Flux overlay stage:
// the same objects, Secrets decrypted, the HelmReleases replaced by the
// charts they name, rendered with the same values.
func checkArgoStage(t *testing.T, sc scenario, tree *Tree, cluster, st, built string) {
	t.Helper()
	what := sc.file + ": " + ArgoStageDir(cluster, st)
	objs := map[string]map[string]any{}
	for _, d := range splitDocs([]byte(built)) {
		var o map[string]any
		if err := yaml.Unmarshal(d, &o); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		md, _ := o["metadata"].(map[string]any)
		objs[fmt.Sprint(o["kind"], "/", md["name"])] = o
	}
	flux, err := buildStage(tree.Map(), cluster, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range splitDocs(flux) {
		var o map[string]any
		if err := yaml.Unmarshal(d, &o); err != nil {
			t.Fatal(err)
		}
		md, _ := o["metadata"].(map[string]any)
		id := fmt.Sprint(o["kind"], "/", md["name"])
		if o["kind"] == "HelmRepository" {
			continue
		}
		if o["kind"] == "HelmRelease" {
			spec := o["spec"].(map[string]any)
			cm := objs["ConfigMap/values-"+spec["releaseName"].(string)]
			if cm == nil {
				t.Errorf("%s: chart of HelmRelease %s not rendered", what, md["name"])
				continue
			}
			want, _ := json.Marshal(spec["values"])
			if spec["values"] == nil {
				want = []byte("{}")
			}
			if got := cm["data"].(map[string]any)["values"]; got != string(want) {
				t.Errorf("%s: chart %s rendered with values\n%s\nwant the HelmRelease's\n%s", what, md["name"], got, want)
			}
			continue
		}
		got := objs[id]
		if got == nil {
			t.Errorf("%s: %s missing", what, id)
			continue
		}
		if o["kind"] == "Secret" {
			if sd, _ := got["stringData"].(map[string]any); sd == nil {
				if d, _ := got["data"].(map[string]any); d == nil {
					t.Errorf("%s: Secret %s has no data", what, id)
				}
			}
			if _, enc := got["sops"]; enc {
				t.Errorf("%s: Secret %s still carries its sops metadata", what, id)
			}
		}
		ann, _ := got["metadata"].(map[string]any)["annotations"].(map[string]any)
		if st == meshStage && ann[argoSyncOptionsAnno] != "SkipDryRunOnMissingResource=true" {
			t.Errorf("%s: %s lacks the %s annotation", what, id, argoSyncOptionsAnno)
		}
	}
}

// buildStage builds one stage of a cluster's overlay with krusty.
func buildStage(files map[string][]byte, cluster, st string) ([]byte, error) {
	sub := map[string][]byte{}
	prefix := StageDir(cluster, st) + "/"
	for p, d := range files {
		if strings.HasPrefix(p, prefix) {
			sub[OverlayDir(cluster)+"/"+strings.TrimPrefix(p, prefix)] = d
		}
	}
	return Build(sub, cluster)
}

package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/inventory"
)

// The Sail operator's CRDs, vendored in tools/crds/sail at the release its
// README names (the Sail Go module is not on the Go module proxy).
var sailCRDFiles = map[string]string{
	"Istio":            "sailoperator.io_istios.yaml",
	"IstioRevisionTag": "sailoperator.io_istiorevisiontags.yaml",
	"IstioCNI":         "sailoperator.io_istiocnis.yaml",
	"ZTunnel":          "sailoperator.io_ztunnels.yaml",
}

func sailCRDDir(t *testing.T) string {
	return filepath.Join(testtools.ModuleRoot(t), "tools", "crds", "sail")
}

// TestSailCRDsVendored checks that every vendored CRD file still has the
// sha256 tools/crds/sail/README.md records for it, and that the README
// records no other file.
func TestSailCRDsVendored(t *testing.T) {
	dir := sailCRDDir(t)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| (sailoperator\\.io_[a-z]+\\.yaml) \\| `([0-9a-f]{64})` \\|$").FindAllStringSubmatch(string(readme), -1)
	recorded := map[string]string{}
	for _, r := range rows {
		recorded[r[1]] = r[2]
	}
	var want []string
	for _, f := range sailCRDFiles {
		want = append(want, f)
	}
	slices.Sort(want)
	if got := sortedKeys(recorded); !slices.Equal(got, want) {
		t.Fatalf("README.md records sums of %v, want %v", got, want)
	}
	for f, sum := range recorded {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, README.md records %s: the file changed since it was vendored", f, got, sum)
		}
	}
}

// sailSchemas compiles the vendored Sail CRDs, by kind then version.
func sailSchemas(t *testing.T) map[string]map[string]*jsonschema.Schema {
	t.Helper()
	out := map[string]map[string]*jsonschema.Schema{}
	for kind, f := range sailCRDFiles {
		data, err := os.ReadFile(filepath.Join(sailCRDDir(t), f))
		if err != nil {
			t.Fatal(err)
		}
		out[kind] = compileCRD(t, f, data)
	}
	return out
}

// TestSailVersionsMatchCRD: the versions installer sail accepts are
// exactly the pinned releases the Istio CRD's spec.version enum lists.
func TestSailVersionsMatchCRD(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sailCRDDir(t), sailCRDFiles["Istio"]))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Version struct {
										Enum []string `json:"enum"`
									} `json:"version"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	var pinned []string
	for _, v := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties.Version.Enum {
		if !strings.HasSuffix(v, "-latest") {
			pinned = append(pinned, strings.TrimPrefix(v, "v"))
		}
	}
	if len(pinned) == 0 {
		t.Fatal("the Istio CRD lists no versions")
	}
	got := slices.Clone(inventory.SailVersions)
	slices.Sort(got)
	slices.Sort(pinned)
	if !slices.Equal(got, pinned) {
		t.Errorf("inventory.SailVersions = %v\nthe Istio CRD's spec.version enum = %v", got, pinned)
	}
	if !slices.Contains(got, inventory.IstioVersion) {
		t.Errorf("Sail does not install meshgen's Istio version %s", inventory.IstioVersion)
	}
}

// sailTrees are the generated trees that install with Sail: the golden
// scenarios and the docs/examples inventories of installer sail.
func sailTrees(t *testing.T) []deliveryTree {
	t.Helper()
	var out []deliveryTree
	for _, sc := range loadScenarios(t) {
		if sc.inv.Mesh.Istio.Installer == inventory.InstallerSail {
			out = append(out, deliveryTree{name: sc.file, inv: sc.inv, files: priorOf(sc.arch)})
		}
	}
	examples, err := filepath.Glob(filepath.Join(testtools.ModuleRoot(t), "docs", "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no docs/examples: %v", err)
	}
	for _, ex := range examples {
		data, err := os.ReadFile(ex)
		if err != nil {
			t.Fatal(err)
		}
		inv := loadValid(t, filepath.Base(ex), data)
		if inv.Mesh.Istio.Installer != inventory.InstallerSail {
			continue
		}
		tree, err := Generate(inv, testOptions(withCredentials(t, inv, nil)))
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		files := map[string][]byte{}
		for _, f := range tree.Files {
			files[f.Path] = f.Data
		}
		out = append(out, deliveryTree{name: "docs/examples/" + filepath.Base(ex), inv: inv, files: files})
	}
	if !slices.ContainsFunc(out, func(tr deliveryTree) bool { return strings.HasPrefix(tr.name, "docs/examples/") }) {
		t.Fatal("no docs/examples inventory installs with Sail")
	}
	return out
}

// TestSailCRDSchemas validates every Sail resource of every Sail tree
// against the vendored CRD of its kind, as the API server's strict field
// validation does.
func TestSailCRDSchemas(t *testing.T) {
	schemas := sailSchemas(t)
	counts := map[string]int{}
	trees := sailTrees(t)
	if len(trees) < 3 {
		t.Fatalf("%d trees install with Sail; want sail.txtar, sail-revisions.txtar and the docs example", len(trees))
	}
	for _, tr := range trees {
		for _, p := range sortedKeys(tr.files) {
			for _, d := range splitDocs(tr.files[p]) {
				var obj struct{ APIVersion, Kind string }
				if err := yaml.Unmarshal(d, &obj); err != nil || !strings.HasPrefix(obj.APIVersion, "sailoperator.io/") {
					continue
				}
				sch, ok := schemas[obj.Kind]
				if !ok {
					t.Errorf("%s: %s: %s is no kind of the Sail CRDs", tr.name, p, obj.Kind)
					continue
				}
				counts[obj.Kind] += validateDocs(t, tr.name+": "+p, d, obj.Kind, sch)
			}
		}
	}
	if counts["Istio"] == 0 || counts["IstioRevisionTag"] == 0 {
		t.Errorf("validated %v; want Istio and IstioRevisionTag resources", counts)
	}
	t.Logf("validated %v against the Sail CRDs", counts)
}

// TestSailCRDSchemaCatchesMistakes keeps the Sail schema check honest: a
// version without its v, a value the chart does not know, and a tag
// targeting a kind Sail does not resolve fail it.
func TestSailCRDSchemaCatchesMistakes(t *testing.T) {
	schemas := sailSchemas(t)
	for _, bad := range []struct{ kind, doc string }{
		{"Istio", "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec: {namespace: istio-system, version: 1.28.2}\n"},
		{"Istio", "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec: {namespace: istio-system, version: v1.28.2, values: {global: {meshId: mesh1}}}\n"},
		{"Istio", "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec: {namespace: istio-system, version: v1.28.2, updateStrategy: {type: Canary}}\n"},
		{"IstioRevisionTag", "apiVersion: sailoperator.io/v1\nkind: IstioRevisionTag\nmetadata: {name: default}\nspec: {targetRef: {kind: IstioOperator, name: default}}\n"},
	} {
		ft := &testing.T{}
		done := make(chan struct{})
		go func() { defer close(done); validateDocs(ft, "bad", []byte(bad.doc), bad.kind, schemas[bad.kind]) }()
		<-done
		if !ft.Failed() {
			t.Errorf("schema accepted:\n%s", bad.doc)
		}
	}
}

// sailRevisionOf is the revision the Sail operator (1.30) creates for an
// Istio resource with updateStrategy InPlace, and the values.revision it
// installs istiod with: the resource's name (getActiveRevisionName),
// except "default", which it installs as revision "" (ApplyOverrides).
func sailRevisionOf(istio *SailResource) string {
	if istio.Metadata.Name == sailDefaultName {
		return ""
	}
	return istio.Metadata.Name
}

// TestSailRevisionNames reads every Sail tree as the Sail operator names
// revisions: the east-west gateway's revision, the revision the default
// tag (or the single Istio resource) runs, and the istiod Service the
// expose-istiod route targets exist in the cluster Sail sets up.
func TestSailRevisionNames(t *testing.T) {
	for _, tr := range sailTrees(t) {
		for _, c := range tr.inv.Clusters {
			var istios, tags []*SailResource
			for _, d := range splitDocs(tr.files[StageDir(c.Name, installStage)+"/"+sailFile]) {
				var r SailResource
				if err := yaml.Unmarshal(d, &r); err != nil {
					t.Fatal(err)
				}
				if r.Spec.UpdateStrategy != nil && r.Spec.UpdateStrategy.Type != sailInPlace {
					t.Errorf("%s: %s: Istio %s: updateStrategy %s; the revision names below hold for InPlace", tr.name, c.Name, r.Metadata.Name, r.Spec.UpdateStrategy.Type)
				}
				switch r.Kind {
				case "Istio":
					istios = append(istios, &r)
				case "IstioRevisionTag":
					tags = append(tags, &r)
				}
			}
			if len(istios) == 0 {
				t.Errorf("%s: %s: no Istio resource", tr.name, c.Name)
				continue
			}
			revs := map[string]string{} // Istio name -> revision Sail installs
			for _, is := range istios {
				revs[is.Metadata.Name] = sailRevisionOf(is)
			}
			// The revision that runs the gateway: the default tag's, or
			// the one Istio resource's.
			def := ""
			if len(istios) == 1 {
				def = revs[istios[0].Metadata.Name]
			}
			for _, tag := range tags {
				rev, ok := revs[tag.Spec.TargetRef.Name]
				if !ok || tag.Spec.TargetRef.Kind != "Istio" {
					t.Errorf("%s: %s: tag %s targets %s %s, which the cluster does not have", tr.name, c.Name, tag.Metadata.Name, tag.Spec.TargetRef.Kind, tag.Spec.TargetRef.Name)
				}
				if tag.Metadata.Name == inventory.DefaultTag {
					def = rev
				}
			}
			want := tr.inv.Mesh.Istio.DefaultRevision().Name
			if def != want {
				t.Errorf("%s: %s: Sail runs the default revision as %q, want the inventory's %q", tr.name, c.Name, def, want)
			}
			gw := tr.files[StageDir(c.Name, meshStage)+"/"+sailGatewayFile]
			// Ambient's east-west gateway is the istio-east-west Gateway
			// istiod deploys, not the gateway chart.
			wantRelease := c.EastWestGateway != nil && !tr.inv.Mesh.Ambient()
			if (gw != nil) != wantRelease {
				t.Errorf("%s: %s: east-west gateway release present %v, want %v", tr.name, c.Name, gw != nil, wantRelease)
			}
			if tr.inv.Mesh.Ambient() && c.EastWestGateway != nil && tr.files[StageDir(c.Name, meshStage)+"/"+ambientEastWestGatewayFile] == nil {
				t.Errorf("%s: %s: no istio-east-west Gateway in the mesh stage", tr.name, c.Name)
			}
			for _, d := range splitDocs(gw) {
				var hr struct {
					Kind string
					Spec struct {
						Values    map[string]any
						DependsOn []any `json:"dependsOn"`
					}
				}
				if err := yaml.Unmarshal(d, &hr); err != nil {
					t.Fatal(err)
				}
				if hr.Kind != "HelmRelease" {
					continue
				}
				if got, _ := hr.Spec.Values["revision"].(string); got != def {
					t.Errorf("%s: %s: gateway revision %q, but Sail installs the default revision as %q: its pods would not be injected", tr.name, c.Name, got, def)
				}
				if len(hr.Spec.DependsOn) > 0 {
					t.Errorf("%s: %s: gateway release depends on %v, a HelmRelease Sail never creates", tr.name, c.Name, hr.Spec.DependsOn)
				}
			}
		}
	}
}

// TestSailCanaryUpgradeWalk walks the canary upgrade of docs/upgrades.md
// with installer sail (the sail-revisions golden scenario's mesh). At
// every step each cluster has one Istio resource per revision, named by
// it; the Istio resource of the revision the sidecars run on before the
// step is still there, byte for byte (Flux neither deletes nor changes
// it, so Sail neither uninstalls nor upgrades that istiod); the default
// tag and the east-west gateway follow the inventory's default revision;
// and only the install resources, the gateway release, the IstioOperator
// reference files and MESH.md change.
func TestSailCanaryUpgradeWalk(t *testing.T) {
	sail := func(istio string) string { return "{installer: sail, " + strings.TrimPrefix(istio, "{") }
	first, steps := walkUpgrade(t, "testdata/golden/sail-revisions.txtar", sail)
	istiosOf := func(files map[string][]byte, cluster string) (map[string][]byte, map[string]string) {
		istios, tags := map[string][]byte{}, map[string]string{}
		for _, d := range splitDocs(files[StageDir(cluster, installStage)+"/"+sailFile]) {
			var r SailResource
			if err := yaml.Unmarshal(d, &r); err != nil {
				t.Fatal(err)
			}
			switch r.Kind {
			case "Istio":
				// As the API server holds it: no comments, whatever the
				// resource's place in the file.
				j, err := yaml.YAMLToJSON(d)
				if err != nil {
					t.Fatal(err)
				}
				istios[r.Metadata.Name] = j
			case "IstioRevisionTag":
				tags[r.Metadata.Name] = r.Spec.TargetRef.Name
			}
		}
		return istios, tags
	}
	// The istiod release of the helm walk is the Istio resource of its
	// revision: istiod is the revision the single-revision form named.
	istioOfRelease := func(release string) string {
		if release == "istiod" {
			return first.Mesh.Istio.Revision
		}
		return strings.TrimPrefix(release, "istiod-")
	}
	for _, step := range steps {
		inv, prior, next := step.inv, step.prior, step.next
		// meshgen diff names the same changes as in the helm walk, of the
		// Istio resources that stand for the istiod releases.
		var want []string
		for _, c := range inv.Clusters {
			for _, r := range step.releases {
				name, change, _ := strings.Cut(r, ": ")
				want = append(want, "Istio/"+istioOfRelease(name)+" in "+c.Name+": "+change)
			}
		}
		slices.Sort(want)
		if !slices.Equal(step.changes, want) {
			t.Errorf("%s: release changes\n got: %q\nwant: %q", step.name, step.changes, want)
		}
		// The helm walk names the running istiod release; under Sail it is
		// the Istio resource of that revision.
		running := istioOfRelease(step.running)
		for _, c := range inv.Clusters {
			before, _ := istiosOf(prior, c.Name)
			after, tags := istiosOf(next, c.Name)
			var want []string
			for _, r := range inv.Mesh.Istio.RevisionSpecs() {
				want = append(want, r.Name)
			}
			if got := sortedKeys(after); !slices.Equal(got, want) {
				t.Errorf("%s: %s: Istio resources %v, want one per revision %v", step.name, c.Name, got, want)
			}
			if before[running] == nil || !bytes.Equal(before[running], after[running]) {
				t.Errorf("%s: %s: the Istio resource %s of the running revision changed or is gone:\nbefore:\n%s\nafter:\n%s", step.name, c.Name, running, before[running], after[running])
			}
			def := inv.Mesh.Istio.DefaultRevision().Name
			if tags[inventory.DefaultTag] != def {
				t.Errorf("%s: %s: the default IstioRevisionTag targets %q, want %q", step.name, c.Name, tags[inventory.DefaultTag], def)
			}
			var hr struct {
				Spec struct{ Values struct{ Revision string } }
			}
			docs := splitDocs(next[StageDir(c.Name, meshStage)+"/"+sailGatewayFile])
			if len(docs) != 2 || yaml.Unmarshal(docs[1], &hr) != nil || hr.Spec.Values.Revision != def {
				t.Errorf("%s: %s: the east-west gateway release runs revision %q, want the default tag's %q", step.name, c.Name, hr.Spec.Values.Revision, def)
			}
		}
		for p := range union(prior, next) {
			if bytes.Equal(prior[p], next[p]) {
				continue
			}
			switch path.Base(p) {
			case sailFile, sailGatewayFile, "istio-operator.yaml", "eastwest-gateway.yaml", "MESH.md":
			default:
				t.Errorf("%s: %s changed; a revision step changes only the install resources and the gateway release", step.name, p)
			}
		}
	}
}

// sailDoc is the part of a Sail resource the ambient checks read.
type sailDoc struct {
	Kind     string
	Metadata ObjectMeta
	Spec     struct {
		Version   string
		Namespace string
		Profile   string
		TargetRef *SailTargetRef `json:"targetRef"`
		Values    struct {
			ZTunnel *ztunnelChartValues `json:"ztunnel"`
		}
	}
}

// TestSailAmbientMatchesHelmReleases: with the ambient data plane, the
// IstioCNI and ZTunnel of every Sail tree carry what the helm installer's
// istio-cni and ztunnel releases of the same cluster carry (the cni
// profile; ztunnel's cluster name, network, version and namespace), and
// the ZTunnel targets the Istio resource of the revision the releases
// name, from which Sail copies ztunnel's revision.
func TestSailAmbientMatchesHelmReleases(t *testing.T) {
	checked := 0
	for _, tr := range sailTrees(t) {
		if !tr.inv.Mesh.Ambient() {
			continue
		}
		helmReleasesOf := helmInstallerOf(tr.inv)
		for _, c := range tr.inv.Clusters {
			what := fmt.Sprintf("%s: cluster %s", tr.name, c.Name)
			releases := map[string]*HelmRelease{}
			for _, hr := range helmReleasesOf(c.Name) {
				releases[hr.Spec.Chart.Spec.Chart] = hr
			}
			istios := map[string]string{} // name -> version
			var cni, ztunnel *sailDoc
			for _, d := range splitDocs(tr.files[StageDir(c.Name, installStage)+"/"+sailFile]) {
				var r sailDoc
				if err := yaml.Unmarshal(d, &r); err != nil {
					t.Fatal(err)
				}
				switch r.Kind {
				case "Istio":
					istios[r.Metadata.Name] = r.Spec.Version
				case "IstioCNI":
					cni = &r
				case "ZTunnel":
					ztunnel = &r
				}
			}
			cniRel, ztRel := releases["cni"], releases["ztunnel"]
			if cniRel == nil || ztRel == nil {
				t.Fatalf("%s: the helm installer has no cni or ztunnel release", what)
			}
			if cni == nil || ztunnel == nil {
				t.Errorf("%s: no IstioCNI or no ZTunnel", what)
				continue
			}
			cv := cniRel.Spec.Values.(cniChartValues)
			if cni.Spec.Profile != cv.Profile || cni.Spec.Version != sailVersion(cniRel.Spec.Chart.Spec.Version) || cni.Spec.Namespace != cniRel.Metadata.Namespace {
				t.Errorf("%s: IstioCNI %+v, the helm installer's cni release has profile %q, version %s, namespace %s", what, cni.Spec, cv.Profile, cniRel.Spec.Chart.Spec.Version, cniRel.Metadata.Namespace)
			}
			zv := ztRel.Spec.Values.(ztunnelChartValues)
			z := ztunnel.Spec
			if z.Values.ZTunnel == nil || z.Values.ZTunnel.MultiCluster == nil || z.Values.ZTunnel.MultiCluster.ClusterName != zv.MultiCluster.ClusterName || z.Values.ZTunnel.Network != zv.Network {
				t.Errorf("%s: ZTunnel values %+v, the helm installer's ztunnel release has cluster %s, network %s", what, z.Values.ZTunnel, zv.MultiCluster.ClusterName, zv.Network)
			}
			if z.Version != sailVersion(ztRel.Spec.Chart.Spec.Version) || z.Namespace != ztRel.Metadata.Namespace {
				t.Errorf("%s: ZTunnel version %s in %s, the helm installer's ztunnel is %s in %s", what, z.Version, z.Namespace, ztRel.Spec.Chart.Spec.Version, ztRel.Metadata.Namespace)
			}
			if z.TargetRef == nil || z.TargetRef.Kind != "Istio" || sailRevisionOfName(z.TargetRef.Name) != zv.Revision {
				t.Errorf("%s: ZTunnel targets %+v; the helm installer's ztunnel reads revision %q", what, z.TargetRef, zv.Revision)
			} else if v, ok := istios[z.TargetRef.Name]; !ok || v != z.Version {
				t.Errorf("%s: ZTunnel targets Istio %s (version %q), want one of this cluster's at %s", what, z.TargetRef.Name, v, z.Version)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no Sail tree with the ambient data plane")
	}
}

// sailRevisionOfName is the revision Sail installs from an InPlace Istio
// resource of that name: none for default.
func sailRevisionOfName(name string) string {
	if name == sailDefaultName {
		return ""
	}
	return name
}

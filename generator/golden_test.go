package generator

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

var update = flag.Bool("update", false, "rewrite the golden trees under testdata/golden")

// testNow is the fixed clock of the golden trees.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testOptions pins every input of Generate besides the inventory. The
// identity is the test-only operator key of testdata/age.
func testOptions(prior map[string][]byte) Options {
	return Options{Prior: prior, Now: testNow, Identities: testIdentities()}
}

func testIdentities() []age.Identity {
	ids, err := sops.IdentitiesFromEnv(func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return "../testdata/age/test-only-operator.agekey"
		}
		return ""
	}, os.ReadFile)
	if err != nil || len(ids) == 0 {
		panic(fmt.Sprintf("test identities: %v", err))
	}
	return ids
}

// withCredentials adds a test-only stored credential for every cluster
// that remote secrets need and prior lacks: the inputs `meshgen credentials
// set` would have written.
func withCredentials(t *testing.T, inv *inventory.Inventory, prior map[string][]byte) map[string][]byte {
	t.Helper()
	if prior == nil {
		prior = map[string][]byte{}
	}
	for cluster := range topology.New(inv).Watched() {
		p := CredentialPath(cluster)
		if _, ok := prior[p]; ok {
			continue
		}
		data, err := EncryptCredential(secrets.Credential{
			Cluster: cluster,
			Token:   "test-only-token-" + cluster,
			CA:      []byte(testCA),
		}, inv.Mesh.Recipients, testOptions(nil))
		if err != nil {
			t.Fatal(err)
		}
		prior[p] = data
	}
	return prior
}

// testCA stands for a cluster's API server CA in stored test credentials
// (a public certificate, test-only).
var testCA = func() string {
	data, err := os.ReadFile("../testdata/test-only-api-ca.pem")
	if err != nil {
		panic(err)
	}
	return string(data)
}()

// scenario is one golden tree: an inventory and every file generated from it.
type scenario struct {
	file string
	arch *txtar.Archive
	inv  *inventory.Inventory
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	paths, err := filepath.Glob("testdata/golden/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden scenarios: %v", err)
	}
	var out []scenario
	for _, p := range paths {
		out = append(out, loadScenario(t, p))
	}
	return out
}

// loadScenario reads one golden archive and loads and validates its
// inventory.
func loadScenario(t *testing.T, p string) scenario {
	t.Helper()
	arch, err := txtar.ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(arch.Files) == 0 || arch.Files[0].Name != "inventory.yaml" {
		t.Fatalf("%s: first file must be inventory.yaml", p)
	}
	inv, err := inventory.Load("inventory.yaml", arch.Files[0].Data)
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return scenario{file: p, arch: arch, inv: inv}
}

// loadValid loads an inventory and requires it to be valid.
func loadValid(t testing.TB, name string, data []byte) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load(name, data)
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestGolden generates every scenario and compares the tree, file by file,
// with its golden archive; -update rewrites the archives.
func TestGolden(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		t.Run(strings.TrimSuffix(filepath.Base(sc.file), ".txtar"), func(t *testing.T) {
			prior := withCredentials(t, sc.inv, priorOf(sc.arch))
			tree, err := Generate(sc.inv, testOptions(prior))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				arch := &txtar.Archive{Comment: sc.arch.Comment, Files: sc.arch.Files[:1]}
				for _, p := range sortedKeys(prior) {
					if strings.HasPrefix(p, "credentials/") {
						arch.Files = append(arch.Files, txtar.File{Name: p, Data: prior[p]})
					}
				}
				for _, f := range tree.Files {
					arch.Files = append(arch.Files, txtar.File{Name: f.Path, Data: f.Data})
				}
				if err := os.WriteFile(sc.file, txtar.Format(arch), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := priorOf(sc.arch)
			for p := range want {
				if strings.HasPrefix(p, "credentials/") {
					delete(want, p) // inputs, not outputs
				}
			}
			for _, f := range tree.Files {
				w, ok := want[f.Path]
				if !ok {
					t.Errorf("unexpected file %s:\n%s", f.Path, f.Data)
					continue
				}
				if !bytes.Equal(w, f.Data) {
					t.Errorf("%s differs from golden (run go test ./generator -update and review the diff):\ngot:\n%s\nwant:\n%s", f.Path, f.Data, w)
				}
				delete(want, f.Path)
			}
			for p := range want {
				t.Errorf("missing file %s", p)
			}
		})
	}
}

// priorOf returns the generated files of a golden archive.
func priorOf(a *txtar.Archive) map[string][]byte {
	m := map[string][]byte{}
	for _, f := range a.Files[1:] {
		m[f.Name] = f.Data
	}
	return m
}

// TestOverlaysBuild builds every overlay of every scenario with kustomize
// and checks that what a cluster gets is exactly the objects of its
// overlay's files: none lost to a kustomization that forgets a file, none
// merged away or duplicated, none from another cluster.
func TestOverlaysBuild(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, nil)))
		if err != nil {
			t.Fatal(err)
		}
		files := tree.Map()
		for _, c := range sc.inv.Clusters {
			out, err := Build(files, c.Name)
			if err != nil {
				t.Errorf("%s: %s: %v", sc.file, c.Name, err)
				continue
			}
			var want []string
			for _, f := range tree.Files {
				if !strings.HasPrefix(f.Path, OverlayDir(c.Name)+"/") || path.Base(f.Path) == "kustomization.yaml" {
					continue
				}
				for _, id := range objectIDs(t, f.Path, f.Data) {
					// IstioOperator files are written for istioctl users and
					// reviewers; only where an operator runs are they applied.
					if strings.HasPrefix(id, "install.istio.io/v1alpha1/IstioOperator/") && sc.inv.Mesh.Istio.Installer != "operator" {
						continue
					}
					want = append(want, id)
				}
			}
			got := objectIDs(t, "built "+c.Name, out)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s: built objects\n%s\nwant the overlay's files'\n%s", sc.file, c.Name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !slices.Contains(got, "v1/Namespace//"+IstioNamespace) {
				t.Errorf("%s: %s: built overlay has no %s Namespace", sc.file, c.Name, IstioNamespace)
			}
		}
	}
}

// objectIDs lists apiVersion/kind/namespace/name of every object in a YAML
// stream.
func objectIDs(t *testing.T, what string, data []byte) []string {
	t.Helper()
	var ids []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return ids
		} else if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if o.Kind != "" {
			ids = append(ids, o.APIVersion+"/"+o.Kind+"/"+o.Metadata.Namespace+"/"+o.Metadata.Name)
		}
	}
}

// TestIdempotent checks that generating again from the previous output gives
// the same bytes, and that the output does not depend on the clock or
// randomness when nothing needs issuing.
func TestIdempotent(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		creds := withCredentials(t, sc.inv, nil)
		first, err := Generate(sc.inv, testOptions(creds))
		if err != nil {
			t.Fatal(err)
		}
		prior := first.Map()
		for p, d := range creds {
			prior[p] = d
		}
		opts := testOptions(prior)
		opts.Identities = nil // a run with nothing to issue needs no identity
		opts.Now = testNow.Add(24 * time.Hour)
		second, err := Generate(sc.inv, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Files) != len(second.Files) {
			t.Fatalf("%s: %d files, then %d", sc.file, len(first.Files), len(second.Files))
		}
		for i := range first.Files {
			if first.Files[i].Path != second.Files[i].Path || !bytes.Equal(first.Files[i].Data, second.Files[i].Data) {
				t.Errorf("%s: %s changed on the second run", sc.file, first.Files[i].Path)
			}
		}
	}
}

// TestGenerateRepeatable: two runs with identical Options and the same
// pinned global random give identical trees, including a first run that
// creates the root, issues every intermediate and encrypts every secret:
// Generate reads no clock and no randomness besides the crypto libraries'.
func TestGenerateRepeatable(t *testing.T) {
	for _, name := range []string{"mp-two-networks", "gitops-helm"} {
		t.Run(name, func(t *testing.T) {
			inv := loadScenario(t, "testdata/golden/"+name+".txtar").inv
			creds := withCredentials(t, inv, nil)
			run := func(seed uint64) *Tree {
				cryptotest.SetGlobalRandom(t, seed)
				opts := testOptions(creds)
				opts.Workers = 1
				tree, err := Generate(inv, opts)
				if err != nil {
					t.Fatal(err)
				}
				return tree
			}
			first, second := run(1), run(1)
			if first.Reasons[RootCAPath] == "" || first.Get(RootCAPath) == nil {
				t.Fatalf("the first run did not create the root (reasons %v)", first.Reasons)
			}
			if len(first.Files) != len(second.Files) {
				t.Fatalf("%d files, then %d", len(first.Files), len(second.Files))
			}
			for i := range first.Files {
				a, b := first.Files[i], second.Files[i]
				if a.Path != b.Path || !bytes.Equal(a.Data, b.Data) {
					t.Errorf("%s differs between two runs with the same options", a.Path)
				}
			}
			// The test can fail: another seed gives another root.
			if other := run(2); bytes.Equal(other.Get(RootCertPath).Data, first.Get(RootCertPath).Data) {
				t.Error("a different global random gave the same root certificate")
			}
		})
	}
}

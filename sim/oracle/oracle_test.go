package oracle

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"istio.io/istio/pkg/log"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

var printList = flag.Bool("print-failures", false, "print every route that does not hold, in the expected-failure list's format")

func TestMain(m *testing.M) {
	// pilot logs every push; the test reports what matters.
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.NoneLevel)
	}
	os.Exit(m.Run())
}

// expectedFailures is the checked-in list of routes that do not hold yet:
// scenario | route | reason, one per line.
const expectedFailuresFile = "testdata/expected-failures.txt"

func loadExpectedFailures(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(expectedFailuresFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " | ", 3)
		if len(parts) != 3 {
			t.Fatalf("%s:%d: want scenario | route | reason", expectedFailuresFile, n)
		}
		if out[parts[0]] == nil {
			out[parts[0]] = map[string]string{}
		}
		out[parts[0]][parts[1]] = parts[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type scenario struct {
	name string
	inv  *inventory.Inventory
	tree Tree
}

func scenarios(t *testing.T) []scenario {
	t.Helper()
	files, err := filepath.Glob("../../generator/testdata/golden/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scenarios: %v", err)
	}
	var out []scenario
	for _, f := range files {
		invData, tree, err := TreeFromTxtar(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, scenario{name: strings.TrimSuffix(filepath.Base(f), ".txtar"), inv: load(t, f, invData), tree: tree})
	}
	invData, err := os.ReadFile("../../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := TreeFromDir("../..")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, scenario{name: "example", inv: load(t, "inventory.example.yaml", invData), tree: tree})
	return append(out, docsExamples(t)...)
}

// docsExamples are the example inventories of docs/examples, each with the
// tree meshgen generates from it: test-only stored credentials for every
// cluster an istiod watches, as TestDocsExamples stores them with
// `meshgen credentials set`. Generated once per test binary.
func docsExamples(t *testing.T) []scenario {
	t.Helper()
	docsOnce.Do(func() { docsScenarios, docsErr = generateDocsExamples() })
	if docsErr != nil {
		t.Fatal(docsErr)
	}
	return docsScenarios
}

var (
	docsOnce      sync.Once
	docsScenarios []scenario
	docsErr       error
)

func generateDocsExamples() ([]scenario, error) {
	files, err := filepath.Glob("../../docs/examples/*.yaml")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no docs/examples: %v", err)
	}
	ids, err := sops.IdentitiesFromEnv(func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return "../../testdata/age/test-only-operator.agekey"
		}
		return ""
	}, os.ReadFile)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile("../../testdata/test-only-api-ca.pem")
	if err != nil {
		return nil, err
	}
	var out []scenario
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		inv, err := inventory.Load(f, data)
		if err == nil {
			err = inv.Validate()
		}
		if err != nil {
			return nil, err
		}
		opts := generator.Options{Prior: map[string][]byte{}, Now: time.Now(), Identities: ids}
		for cluster := range topology.New(inv).Watched() {
			cred, err := generator.EncryptCredential(secrets.Credential{Cluster: cluster, Token: "test-only-token", CA: ca}, inv.Mesh.Recipients, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f, err)
			}
			opts.Prior[generator.CredentialPath(cluster)] = cred
		}
		gen, err := generator.Generate(inv, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		tree := Tree{}
		for _, file := range gen.Files {
			tree[file.Path] = file.Data
		}
		out = append(out, scenario{name: "docs/examples/" + filepath.Base(f), inv: inv, tree: tree})
	}
	return out, nil
}

func load(t *testing.T, name string, data []byte) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load(name, data)
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return inv
}

// TestRoutes runs Istio's control plane on every golden tree and on the
// checked-in example, and holds every route meshgen promises
// (topology.Routes, what `meshgen routes` prints) against what Istio
// computes. A route that does not hold fails the test unless the
// expected-failure list names it; a listed route that holds fails it too,
// so the list only shrinks.
func TestRoutes(t *testing.T) {
	expected := loadExpectedFailures(t)
	var printed []string
	names := map[string]bool{}
	for _, sc := range scenarios(t) {
		names[sc.name] = true
		t.Run(sc.name, func(t *testing.T) {
			// The tree decides how it is simulated; it must agree with the
			// inventory's data plane.
			w, err := newWorld(sc.inv, sc.tree)
			if err != nil {
				t.Fatal(err)
			}
			if w.isAmbient() != sc.inv.Mesh.Ambient() {
				t.Fatalf("the tree's istiods run ambient: %v; the inventory's data plane is ambient: %v", w.isAmbient(), sc.inv.Mesh.Ambient())
			}
			want := topology.Routes(sc.inv)
			res, err := Simulate(t, sc.inv, sc.tree, want)
			if err != nil {
				t.Fatal(err)
			}
			mismatches := Compare(want, res)
			listed := expected[sc.name]
			failing := map[string]bool{}
			for _, m := range mismatches {
				failing[m.Key] = true
				printed = append(printed, fmt.Sprintf("%s | %s | %s", sc.name, m.Key, m.Message))
				if _, ok := listed[m.Key]; !ok {
					t.Errorf("route does not hold: %s", m.Message)
				}
			}
			for key := range listed {
				if !failing[key] {
					t.Errorf("route %q now holds: remove it from %s", key, expectedFailuresFile)
				}
			}
			t.Logf("%d of %d routes hold", len(want)-len(mismatches), len(want))
		})
	}
	for name := range expected {
		if !names[name] {
			t.Errorf("%s names scenario %q, which does not exist", expectedFailuresFile, name)
		}
	}
	if *printList {
		sort.Strings(printed)
		fmt.Println(strings.Join(printed, "\n"))
	}
}

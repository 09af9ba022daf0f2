package generator

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshgen/meshgen/generator/inventory"
)

// upgradeSteps are the inventory edits of docs/upgrades.md, as the istio
// line of the revisions-canary golden scenario: the single-revision form,
// then the four steps of a canary upgrade from 1.27.3 to 1.28.2.
var upgradeSteps = []upgradeStep{
	{
		name:  "start",
		istio: "{version: 1.27.3, revision: 1-27-3}",
	},
	{
		name:     "1 add the new revision",
		istio:    "{revision: 1-27-3, revisions: [{name: 1-27-3, version: 1.27.3}, {name: 1-28-2, version: 1.28.2}], tags: {default: 1-27-3}}",
		releases: []string{"istiod: retagged (tags none -> default)", "istiod-1-28-2: added (revision 1-28-2, 1.28.2)"},
		running:  "istiod",
	},
	{
		name:     "2 move the canary tag",
		istio:    "{revision: 1-27-3, revisions: [{name: 1-27-3, version: 1.27.3}, {name: 1-28-2, version: 1.28.2}], tags: {default: 1-27-3, canary: 1-28-2}}",
		releases: []string{"istiod-1-28-2: retagged (tags none -> canary)"},
		running:  "istiod",
	},
	{
		name:     "3 move the default tag",
		istio:    "{revision: 1-27-3, revisions: [{name: 1-27-3, version: 1.27.3}, {name: 1-28-2, version: 1.28.2}], tags: {default: 1-28-2, canary: 1-28-2}}",
		releases: []string{"istiod: retagged (tags default -> none)", "istiod-1-28-2: retagged (tags canary -> canary,default)"},
		running:  "istiod",
	},
	{
		name:     "4 remove the old revision",
		istio:    "{revisions: [{name: 1-28-2, version: 1.28.2}], tags: {default: 1-28-2, canary: 1-28-2}}",
		releases: []string{"istiod: removed (revision 1-27-3, 1.27.3)"},
		running:  "istiod-1-28-2",
	},
}

type upgradeStep struct {
	name  string
	istio string
	// releases are the istiod release changes the step makes in every
	// cluster, as `meshgen diff` prints them after "in CLUSTER: ".
	releases []string
	// running is the istiod release the mesh's sidecars are connected to
	// before the step, which must still be there after it.
	running string
}

// walkedStep is one step of an upgrade walk: the inventory after it, the
// trees before and after it, and the release changes `meshgen diff` names
// between them (sorted, as printed).
type walkedStep struct {
	upgradeStep
	inv         *inventory.Inventory
	prior, next map[string][]byte
	changes     []string
}

// walkUpgrade generates the golden scenario's tree at every step of
// upgradeSteps, the istio line of each step written as istio makes it:
// each step from the tree before it and the first step's stored
// credentials, as an operator runs meshgen generate after each edit. It
// returns the first step's inventory and the steps after it.
func walkUpgrade(t *testing.T, golden string, istio func(string) string) (*inventory.Inventory, []walkedStep) {
	t.Helper()
	arch, err := txtar.ParseFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	first := stepInventory(t, arch, istio(upgradeSteps[0].istio))
	creds := withCredentials(t, first, nil)
	tree, err := Generate(first, testOptions(creds))
	if err != nil {
		t.Fatal(err)
	}
	prior := tree.Map()
	var out []walkedStep
	for _, step := range upgradeSteps[1:] {
		inv := stepInventory(t, arch, istio(step.istio))
		in := maps.Clone(prior)
		maps.Copy(in, creds)
		tree, err := Generate(inv, testOptions(in))
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		next := tree.Map()
		changes, err := CompareReleases(prior, next)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range changes {
			got = append(got, c.String())
		}
		slices.Sort(got)
		out = append(out, walkedStep{upgradeStep: step, inv: inv, prior: prior, next: next, changes: got})
		prior = next
	}
	return first, out
}

// stepInventory is the golden scenario's inventory with its istio line
// replaced.
func stepInventory(t *testing.T, arch *txtar.Archive, istio string) *inventory.Inventory {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(arch.Files[0].Data), "\n") {
		if strings.HasPrefix(l, "  istio: ") {
			l = "  istio: " + istio
		}
		lines = append(lines, l)
	}
	return loadValid(t, "inventory.yaml", []byte(strings.Join(lines, "\n")))
}

// TestCanaryUpgradeWalk walks the four-step canary upgrade of
// docs/upgrades.md. At every step the release the running sidecars use is
// still there (with its name, so Flux neither uninstalls nor reinstalls
// it), the istiod releases change exactly as the step says, and no file
// beyond the install releases, the IstioOperator reference files and
// MESH.md changes.
func TestCanaryUpgradeWalk(t *testing.T) {
	_, steps := walkUpgrade(t, "testdata/golden/revisions-canary.txtar", func(istio string) string { return istio })
	for _, step := range steps {
		inv, prior, next := step.inv, step.prior, step.next
		var want []string
		for _, c := range inv.Clusters {
			for _, r := range step.releases {
				want = append(want, strings.Replace(r, ":", " in "+c.Name+":", 1))
			}
		}
		slices.Sort(want)
		if !slices.Equal(step.changes, want) {
			t.Errorf("%s: release changes\n got: %q\nwant: %q", step.name, step.changes, want)
		}
		after, err := istiodReleasesOf(next)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range inv.Clusters {
			if after[[2]string{c.Name, step.running}] == nil {
				t.Errorf("%s: %s: the running release %s is gone", step.name, c.Name, step.running)
			}
		}
		for p := range union(prior, next) {
			if bytes.Equal(prior[p], next[p]) {
				continue
			}
			base := p[strings.LastIndex(p, "/")+1:]
			switch {
			case base == helmReleasesFile, base == "istio-operator.yaml", base == "eastwest-gateway.yaml", base == "MESH.md":
			case strings.HasPrefix(p, ArgoCDDir+"/") && strings.Contains(p, "/"+installStage+"/"):
				// Argo CD's form of the same releases: one chart
				// kustomization per release.
			default:
				t.Errorf("%s: %s changed; a revision step changes only the install releases", step.name, p)
			}
		}
	}
}

func union(a, b map[string][]byte) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// TestRemoveRevisionATagPointsAt: removing the old revision before the
// default tag has moved is refused where the tag is written.
func TestRemoveRevisionATagPointsAt(t *testing.T) {
	data := []byte(`apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
  istio:
    revisions: [{name: 1-28-2, version: 1.28.2}]
    tags: {default: 1-27-3, canary: 1-28-2}
networks: [{name: net1}]
clusters:
  - {name: a, network: net1, recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]}
`)
	inv, err := inventory.Load("inventory.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	err = inv.Validate()
	want := `inventory.yaml:8:21: mesh.istio.tags.default: tag default points at revision "1-27-3", which revisions does not list (known: 1-28-2): move the tag before removing its revision`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// upgradeStepTrees are the trees of every step of the canary upgrade walk,
// for the delivery proof: each revision layout must install.
func upgradeStepTrees(t *testing.T) []deliveryTree {
	t.Helper()
	arch, err := txtar.ParseFile("testdata/golden/revisions-canary.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var out []deliveryTree
	for _, step := range upgradeSteps {
		inv := stepInventory(t, arch, step.istio)
		tree, err := Generate(inv, testOptions(withCredentials(t, inv, nil)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, deliveryTree{name: "canary upgrade step " + step.name, inv: inv, files: tree.Map()})
	}
	return out
}

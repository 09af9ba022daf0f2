package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator/fleet"

	"github.com/meshgen/meshgen/generator"
)

// crashed is the panic value of an injected crash.
type crashed struct{ op, path string }

// campaign reports whether the long campaigns run (CI sets
// MESHGEN_CAMPAIGN=1): every crash point, many concurrent trials. Without
// it, plain `go test` runs a sample chosen by a logged seed.
func campaign() bool { return os.Getenv("MESHGEN_CAMPAIGN") != "" }

// campaignSeed is the seed of a campaign's random choices: MESHGEN_SEED
// when set (to replay a failure), else a fixed one for plain `go test`, or
// the clock in a campaign. It is logged either way.
func campaignSeed(t *testing.T) uint64 {
	seed := uint64(1)
	if s := os.Getenv("MESHGEN_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MESHGEN_SEED=%q: %v", s, err)
		}
		seed = n
	} else if campaign() {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with MESHGEN_SEED=%d)", seed, seed)
	return seed
}

// switchFixture is a fleet tree generated from one inventory, with the
// user's files in it, and the plan that takes it to a second inventory
// (networks moved, gateways moved, services added and removed, the Flux
// objects dropped: adds, modifications and removals all over the tree).
type switchFixture struct {
	work, old, inv string
	env            func(string) string
	changes        []generator.Change
	oldState, want map[string]string
}

func newSwitchFixture(t *testing.T) *switchFixture {
	t.Helper()
	work := t.TempDir()
	env := keyEnv(t)
	f := &switchFixture{work: work, old: filepath.Join(work, "old"), inv: filepath.Join(work, "inventory.yaml"), env: env}
	r := rand.New(rand.NewPCG(7, 7))
	// A fleet of 12 clusters keeps plain `go test` fast; the crash points
	// are the same kinds as on any fleet.
	edit := &fleetEdit{network: map[int]int{}, address: map[int]string{}, flux: true,
		spec: fleet.Spec{Clusters: 12, Networks: 2, Services: 60, RunsIn: 2, ExportTo: 4, AddressPool: "240.0.0.0/12"}}
	edit.change(r, 0)
	edit.flux, edit.argocd = true, false
	f.generate(t, edit.render(), f.old)
	for p, data := range userFiles {
		writeFile(t, filepath.Join(f.old, filepath.FromSlash(p)), data)
	}
	f.oldState = treeState(t, f.old)

	edit.change(r, 1)
	edit.extra = edit.extra[:len(edit.extra)/2]
	edit.flux, edit.argocd = false, true
	if err := os.WriteFile(f.inv, edit.render(), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: env, allowTestKeys: true}
	s, code := c.compute(common{inventory: f.inv, out: f.old})
	if s == nil {
		t.Fatalf("compute: exit %d\n%s", code, c.stderr)
	}
	changes, err := generator.Plan(&s.disk.Disk, s.tree)
	if err != nil {
		t.Fatal(err)
	}
	f.changes = changes
	ops := map[byte]int{}
	for _, ch := range f.changes {
		ops[ch.Op]++
	}
	if ops['A'] == 0 || ops['M'] == 0 || ops['D'] == 0 {
		t.Fatalf("the plan should add, modify and remove files: %v", ops)
	}
	// What an uninterrupted generate leaves.
	scratch := filepath.Join(work, "want")
	copyTree(t, f.old, scratch)
	f.generate(t, nil, scratch)
	f.want = treeState(t, scratch)
	return f
}

// generate runs meshgen generate in-process with inventory data (or the
// fixture's second inventory when data is nil).
func (f *switchFixture) generate(t *testing.T, data []byte, out string) {
	t.Helper()
	inv := f.inv
	if data != nil {
		inv = filepath.Join(f.work, "first.yaml")
		if err := os.WriteFile(inv, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustMain(t, f.env, "generate", "--allow-test-keys", "-i", inv, "-o", out)
}

// applyUntil applies the fixture's plan to root, crashing before the
// operation numbered at (1-based; 0: never). It returns the number of
// rename and remove operations reached.
func applyUntil(t *testing.T, root string, changes []generator.Change, at int) (n int, crash *crashed) {
	t.Helper()
	return crashBefore(at, func() {
		if err := apply(root, changes); err != nil {
			t.Fatalf("apply: %v", err)
		}
	})
}

// recoverUntil is recoverSwitch crashing before its operation numbered at.
func recoverUntil(t *testing.T, root string, at int) (crash *crashed) {
	t.Helper()
	_, crash = crashBefore(at, func() {
		if _, err := recoverSwitch(root); err != nil {
			t.Fatalf("recover: %v", err)
		}
	})
	return crash
}

// crashBefore runs run with a crash injected before its operation numbered
// at (1-based; 0: never), as a kill would: nothing after it runs. It
// returns the number of operations reached and the crash, if there was one.
func crashBefore(at int, run func()) (n int, crash *crashed) {
	crashPoint = func(op, p string) {
		n++
		if n == at {
			panic(crashed{op, p})
		}
	}
	defer func() {
		crashPoint = nil
		if v := recover(); v != nil {
			c, ok := v.(crashed)
			if !ok {
				panic(v)
			}
			crash = &c
		}
	}()
	run()
	return n, nil
}

// onlyFiles drops directories and meshgen's temporary files from a state:
// what a crash before the switch may leave besides the old tree (the next
// run removes them).
func onlyFiles(s map[string]string) map[string]string {
	out := map[string]string{}
	for p, v := range s {
		if strings.HasPrefix(v, "dir ") || staleTemp.MatchString(path.Base(p)) {
			continue
		}
		out[p] = v
	}
	return out
}

// judge checks the tree after a crash as checkInterrupted does and returns
// which of the two it was: "old", or "new" (at once, or after completing the
// journal, which is what the next generate does first).
func judge(t *testing.T, f *switchFixture, root, label string) string {
	t.Helper()
	var leftovers int
	if checkInterrupted(t, label, root, f.oldState, f.want, treeState(t, root), &leftovers) == "old" {
		return "old"
	}
	return "new"
}

// TestSwitchCrashAtEveryPoint interrupts the switch of a real plan (a
// 12-cluster fleet: files added, changed and removed) before each of its
// staged writes, renames and removals in turn, as a kill would (no cleanup
// runs), and checks that the tree is then the old one, or the new one once
// its journal is completed; a crash during that completion is survived too;
// and a rerun of generate always converges to exactly the uninterrupted
// result. Plain `go test` checks a sample of the points (seeded, logged);
// MESHGEN_CAMPAIGN=1 checks them all.
func TestSwitchCrashAtEveryPoint(t *testing.T) {
	f := newSwitchFixture(t)
	countDir := filepath.Join(f.work, "count")
	copyTree(t, f.old, countDir)
	total, _ := applyUntil(t, countDir, f.changes, 0)
	if d := diffStates(f.want, treeState(t, countDir)); d != "" {
		t.Fatalf("an uninterrupted apply differs from generate:\n%s", d)
	}
	t.Logf("%d changes, %d crash points (staged writes, renames and removals, the journal's included)", len(f.changes), total)

	seed := campaignSeed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	points := make([]int, 0, total)
	for i := 1; i <= total; i++ {
		points = append(points, i)
	}
	if !campaign() && len(points) > 12 {
		r.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
		// The first and last points, the journal's commit among them, always.
		points = append(points[:10], 1, total)
	}
	got := map[string]int{}
	for i, at := range points {
		root := filepath.Join(f.work, fmt.Sprintf("t%d", at))
		copyTree(t, f.old, root)
		_, crash := applyUntil(t, root, f.changes, at)
		if crash == nil {
			t.Fatalf("point %d: no crash", at)
		}
		label := fmt.Sprintf("crash before %s %s (point %d of %d)", crash.op, crash.path, at, total)
		// Half the time, the recovery itself crashes first, at a random
		// point of its own.
		if pendingJournal(root) && r.IntN(2) == 0 {
			second := 1 + r.IntN(total)
			if c := recoverUntil(t, root, second); c != nil {
				label += fmt.Sprintf(", then before %s %s during recovery", c.op, c.path)
			}
		}
		got[judge(t, f, root, label)]++
		// A rerun converges (every third point in a campaign, every fourth
		// otherwise: each is a whole generate, and the judgement above has
		// already shown the tree to be the old or the new one).
		if campaign() && i%3 == 0 || i%4 == 0 {
			f.generate(t, nil, root)
			if d := diffStates(f.want, treeState(t, root)); d != "" {
				t.Fatalf("%s: the rerun did not converge:\n%s", label, d)
			}
		}
		os.RemoveAll(root)
	}
	t.Logf("%d crash points: %d left the old tree, %d the new one (after the journal); none a mix", len(points), got["old"], got["new"])
	if got["old"] == 0 || got["new"] == 0 {
		t.Errorf("the points should include crashes before and after the commit: %v", got)
	}
}

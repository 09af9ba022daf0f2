package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
)

// TestConcurrentGenerate starts several generate runs on one output
// directory at the same moment, each issuing a PKI into an empty tree (the
// case where two unserialised runs leave cacerts signed by a root that is
// not the one in pki/root-cert.pem). With --wait every run succeeds; without
// it, a run that finds the lock taken fails with a clear message and writes
// nothing. Either way the tree left is one run's whole PKI: every cacerts
// decrypts and chains to the root on disk. Plain `go test` runs a few
// trials; MESHGEN_CAMPAIGN=1 runs more.
func TestConcurrentGenerate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("flock(2)")
	}
	inv := filepath.Join("..", "..", "docs", "examples", "multi-network.yaml")
	env := keyEnv(t)
	trials := 4
	if campaign() {
		trials = 40
	}
	r := rand.New(rand.NewPCG(campaignSeed(t), 3))
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := inventory.Load(inv, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Validate(); err != nil {
		t.Fatal(err)
	}
	ids := testIdentityList(t)
	var refused, succeeded int
	for trial := range trials {
		out := filepath.Join(t.TempDir(), "fleet")
		wait := trial%2 == 0
		runs := 2 + r.IntN(3)
		var wg sync.WaitGroup
		codes := make([]int, runs)
		stderrs := make([]bytes.Buffer, runs)
		start := make(chan struct{})
		delays := make([]time.Duration, runs)
		for i := range delays {
			delays[i] = time.Duration(r.IntN(3)) * time.Millisecond
		}
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := []string{"generate", "--allow-test-keys", "-i", inv, "-o", out}
				if wait {
					args = append(args, "--wait")
				}
				<-start
				time.Sleep(delays[i])
				codes[i] = Main(args, &bytes.Buffer{}, &stderrs[i], env)
			}()
		}
		close(start)
		wg.Wait()
		for i, code := range codes {
			switch {
			case code == exitOK:
				succeeded++
			case code == exitBad && !wait && strings.Contains(stderrs[i].String(), "is being written or read by another meshgen run; nothing was written"):
				refused++
			default:
				t.Fatalf("trial %d (wait %v), run %d: exit %d\n%s", trial, wait, i, code, &stderrs[i])
			}
		}
		d, err := readTree(out)
		if err != nil {
			t.Fatal(err)
		}
		report := generator.CheckReport(parsed, d.Files, ids, time.Now().UTC())
		for _, f := range report.Findings {
			t.Errorf("trial %d (%d runs, wait %v): %s", trial, runs, wait, f)
		}
		if len(report.Decrypted) == 0 {
			t.Fatalf("trial %d: no secret decrypted", trial)
		}
		if pendingJournal(out) {
			t.Fatalf("trial %d: a journal was left", trial)
		}
	}
	t.Logf("%d trials: %d runs succeeded, %d found the lock taken and wrote nothing; every tree one whole PKI", trials, succeeded, refused)
	if refused == 0 {
		t.Logf("no run found the lock taken (the runs did not overlap)")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
)

// TestCheckCache: a --check that found the tree current is remembered, and
// the record is used only while every input, the tree and the clock agree.
func TestCheckCache(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	inv := filepath.Join(dir, "inventory.yaml")
	src, err := os.ReadFile("../../docs/examples/multi-network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fleet")
	run := func(args ...string) int {
		var stdout, stderr bytes.Buffer
		// The example's recipients are the test-only keys of testdata/age.
		return Main(append(args, "--allow-test-keys"), &stdout, &stderr, env)
	}
	if code := run("generate", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("generate: %d", code)
	}
	c := &cli{getenv: env}
	// Each lookup is a run of its own (with --allow-test-keys), which
	// reads the inventory afresh.
	fresh := func() *cli { return &cli{getenv: env, allowTestKeys: true} }
	co := common{inventory: inv, out: out}
	if fresh().checkCacheHit(co, nil) {
		t.Fatal("hit before any check")
	}
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("check: %d", code)
	}
	if !fresh().checkCacheHit(co, nil) {
		t.Fatal("no hit after a clean check")
	}
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("check (cached): %d", code)
	}
	// A plain generate may use the record too, but not while a secret's
	// mode needs fixing (as in a fresh clone).
	if !fresh().generateCacheHit(co, nil) {
		t.Error("no generate hit on a current tree")
	}
	secret := filepath.Join(out, "pki", "root-ca.sops.yaml")
	os.Chmod(secret, 0o644)
	if fresh().generateCacheHit(co, nil) {
		t.Error("generate hit with a secret at 0644")
	}
	if code := run("generate", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("generate: %d", code)
	}
	if fi, _ := os.Stat(secret); fi.Mode().Perm() != 0o600 {
		t.Errorf("generate left %s at %v", secret, fi.Mode().Perm())
	}

	// An identity changes what is checked: no hit.
	if fresh().checkCacheHit(co, testIdentityList(t)) {
		t.Error("hit with an identity the record was not made with")
	}

	// A hand edit of a generated file: no hit, and --check reports drift.
	p := filepath.Join(out, "overlays", "cluster1", "install", "namespace.yaml")
	orig, _ := os.ReadFile(p)
	os.WriteFile(p, append(orig, []byte("# edited\n")...), 0o644)
	if fresh().checkCacheHit(co, nil) {
		t.Error("hit after a generated file changed")
	}
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 1 {
		t.Errorf("check after an edit: exit %d, want 1", code)
	}
	os.WriteFile(p, orig, 0o644)
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("check after undoing the edit: %d", code)
	}

	// A changed inventory: no hit, drift reported.
	os.WriteFile(inv, append(src, []byte("# a comment changes the bytes\n")...), 0o644)
	if fresh().checkCacheHit(co, nil) {
		t.Error("hit after the inventory changed")
	}
	os.WriteFile(inv, bytes.Replace(src, []byte("203.0.113.10"), []byte("203.0.113.11"), 1), 0o644)
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 1 {
		t.Errorf("check after a gateway change: exit %d, want 1", code)
	}
	os.WriteFile(inv, src, 0o644)
	if code := run("generate", "--check", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("check: %d", code)
	}

	// A record past its time (a certificate falls due): no hit.
	path := c.checkCachePath(out)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e checkCacheEntry
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	if e.Until.Before(time.Now().Add(24 * time.Hour)) {
		t.Errorf("record valid only until %v", e.Until)
	}
	e.Until = time.Now().Add(-time.Minute)
	data, _ = json.Marshal(e)
	os.WriteFile(path, data, 0o600)
	if fresh().checkCacheHit(co, nil) {
		t.Error("hit after the record's time")
	}

	// MESHGEN_NO_CACHE turns it off.
	off := &cli{getenv: func(k string) string {
		if k == "MESHGEN_NO_CACHE" {
			return "1"
		}
		return env(k)
	}}
	if off.checkCachePath(out) != "" {
		t.Error("MESHGEN_NO_CACHE did not turn the cache off")
	}
}

func testIdentityList(t *testing.T) []age.Identity {
	t.Helper()
	c := &cli{getenv: keyEnv(t)}
	ids, err := c.identities(common{})
	if err != nil || len(ids) == 0 {
		t.Fatalf("identities: %v", err)
	}
	return ids
}

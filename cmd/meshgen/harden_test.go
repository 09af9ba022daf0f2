package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator"
)

const twoClusters = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  discovery: service-entries
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
  istio: {version: 1.28.2}
networks:
  - name: net1
clusters:
  - name: a
    network: net1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
  - name: b
    network: net1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
`

// keyEnv gives the test-only operator identity through SOPS_AGE_KEY_FILE,
// and nothing else: without a HOME, runs have no check cache.
func keyEnv(t *testing.T) func(string) string {
	t.Helper()
	key, err := filepath.Abs("../../testdata/age/test-only-operator.agekey")
	if err != nil {
		t.Fatal(err)
	}
	return func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return key
		}
		return ""
	}
}

// operatorEnv is keyEnv with a HOME for the check cache.
func operatorEnv(t *testing.T) func(string) string {
	key, home := keyEnv(t), t.TempDir()
	return func(k string) string {
		if k == "HOME" {
			return home
		}
		return key(k)
	}
}

func runMain(t *testing.T, env func(string) string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(append(args, "--allow-test-keys"), &stdout, &stderr, env)
	return code, stdout.String() + stderr.String()
}

// mustMain runs meshgen in-process and returns its standard output,
// failing the test unless it exits 0.
func mustMain(t *testing.T, env func(string) string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main(args, &stdout, &stderr, env); code != 0 {
		t.Fatalf("meshgen %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOwnershipByExactHeader: a file whose first line only quotes the
// marker is the user's and survives the removal of its cluster; every file
// removed is named.
func TestOwnershipByExactHeader(t *testing.T) {
	dir := t.TempDir()
	env := operatorEnv(t)
	inv, out := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "fleet")
	writeFile(t, inv, twoClusters)
	if code, o := runMain(t, env, "generate", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("generate: %d\n%s", code, o)
	}
	mine := filepath.Join(out, "overlays", "b", "install", "notes.yaml")
	writeFile(t, mine, `# NOT "`+generator.Marker+`" - hand written`+"\nkind: ConfigMap\n")
	writeFile(t, inv, strings.Split(twoClusters, "  - name: b\n")[0])
	code, o := runMain(t, env, "generate", "-i", inv, "-o", out)
	if code != 0 {
		t.Fatalf("generate: %d\n%s", code, o)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the user's file was removed: %v\n%s", err, o)
	}
	for _, p := range []string{"overlays/b/install/cacerts.sops.yaml", "overlays/b/kustomization.yaml"} {
		if !strings.Contains(o, "meshgen: removed "+p+"\n") {
			t.Errorf("the removal of %s is not named:\n%s", p, o)
		}
	}
	for _, line := range []string{"# " + generator.Marker + " ", "#" + generator.Marker, "x # " + generator.Marker} {
		if generator.IsGenerated([]byte(line + "\n")) {
			t.Errorf("IsGenerated(%q) = true", line)
		}
	}
	if !generator.IsGenerated([]byte(generator.Header+"x")) || !generator.IsGenerated([]byte("# "+generator.Marker+"\r\nx")) {
		t.Error("the header itself is not recognised")
	}
}

// TestInputsBounded: special files are refused before they are read (a
// named pipe without a writer would block, /dev/zero never ends), each
// error says which input it is about, and a piped inventory is read once
// even when the check cache reads it too.
func TestInputsBounded(t *testing.T) {
	dir := t.TempDir()
	env := operatorEnv(t)
	inv, out := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "fleet")
	writeFile(t, inv, twoClusters)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal("mkfifo:", err)
	}
	type run struct {
		args []string
		env  func(string) string
		want string
	}
	fifoKey := func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return fifo
		}
		return ""
	}
	for _, r := range []run{
		{[]string{"generate", "-i", fifo, "-o", out}, env, "meshgen: " + fifo + " is a named pipe, not a regular file; want an inventory"},
		{[]string{"validate", "-i", "/dev/zero", "-o", out}, env, "meshgen: /dev/zero is a character device, not a regular file; want an inventory"},
		{[]string{"generate", "-i", inv, "-o", out, "--identity", "/dev/zero"}, noEnv, "meshgen: --identity: /dev/zero is a character device, not a regular file; want an age identity file"},
		{[]string{"generate", "-i", inv, "-o", out, "--identity", fifo}, noEnv, "meshgen: --identity: " + fifo + " is a named pipe"},
		{[]string{"generate", "-i", inv, "-o", out}, fifoKey, "SOPS_AGE_KEY_FILE: " + fifo + " is a named pipe"},
	} {
		done := make(chan struct{})
		var code int
		var o string
		go func() {
			code, o = runMain(t, r.env, r.args...)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: still running after 20 s", r.args)
		}
		if code != exitBad || !strings.Contains(o, r.want) {
			t.Errorf("%v: exit %d, want 2 and %q in:\n%s", r.args, code, r.want, o)
		}
		if strings.Contains(o, "--identity") && strings.Contains(o, "SOPS_AGE_KEY_FILE") {
			t.Errorf("%v: an --identity error labelled SOPS_AGE_KEY_FILE:\n%s", r.args, o)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run created %s", out)
	}

	// A piped inventory, with a check cache that reads it too.
	stdin := os.Stdin
	defer func() { os.Stdin = stdin }()
	for i, args := range [][]string{
		{"generate", "-i", "-", "-o", out},
		{"generate", "--check", "-i", "-", "-o", out}, // records the cache entry
		{"generate", "--check", "-i", "/dev/stdin", "-o", out},
		{"generate", "--check", "-i", "-", "-o", out}, // a cache hit
		{"generate", "-i", "-", "-o", out},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.Write([]byte(twoClusters)); w.Close() }()
		os.Stdin = r
		code, o := runMain(t, env, args...)
		r.Close()
		if code != 0 {
			t.Errorf("run %d %v: exit %d\n%s", i, args, code, o)
		}
	}
}

// TestCredentialModeRestored: a stored credential is a secret like the
// generated ones; a fresh clone has it 0644 and generate restores 0600.
func TestCredentialModeRestored(t *testing.T) {
	root := t.TempDir()
	p := generator.CredentialPath("a")
	writeFile(t, filepath.Join(root, p), generator.Header+"kind: Secret\n")
	d, err := readTree(root)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := generator.Plan(&d.Disk, &generator.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Op != 'P' || changes[0].Path != p {
		t.Fatalf("plan = %+v, want a mode change of %s", changes, p)
	}
	if len(generator.Drift(changes)) != 0 {
		t.Error("a mode is no drift")
	}
	if err := apply(root, changes); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, p)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestFullDiskLeavesNothing: a write that fails half-way (a full disk) into
// a fresh directory leaves no file and no directory behind; into an
// existing tree, leaves it as it was.
func TestFullDiskLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	env := operatorEnv(t)
	inv, out := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "new", "fleet")
	writeFile(t, inv, twoClusters)
	n := 0
	writeFault = func(string) error {
		if n++; n == 6 {
			return syscall.ENOSPC
		}
		return nil
	}
	defer func() { writeFault = nil }()
	code, o := runMain(t, env, "generate", "-i", inv, "-o", out)
	if code != exitBad || !strings.Contains(o, "no space left on device") || !strings.Contains(o, "nothing was written") {
		t.Fatalf("exit %d\n%s", code, o)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Errorf("the failed run left %s behind (%v)", filepath.Join(dir, "new"), err)
	}

	writeFault = nil
	if code, o := runMain(t, env, "generate", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("generate: %d\n%s", code, o)
	}
	before := treeState(t, out)
	writeFile(t, inv, twoClusters+"  - name: c\n    network: net1\n    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]\n")
	n = 0
	writeFault = func(string) error {
		if n++; n == 3 {
			return syscall.ENOSPC
		}
		return nil
	}
	if code, o := runMain(t, env, "generate", "-i", inv, "-o", out); code != exitBad {
		t.Fatalf("exit %d\n%s", code, o)
	}
	if d := diffStates(before, treeState(t, out)); d != "" {
		t.Errorf("the failed run changed the tree:\n%s", d)
	}
}

// TestPendingJournal: a tree an interrupted switch left is judged by no
// read-only command (diff, --check, validate, build say so and exit 1);
// generate completes the switch first; a journal that names files meshgen
// does not own is refused.
func TestPendingJournal(t *testing.T) {
	dir := t.TempDir()
	env := operatorEnv(t)
	inv, out := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "fleet")
	writeFile(t, inv, twoClusters)
	if code, o := runMain(t, env, "generate", "-i", inv, "-o", out); code != 0 {
		t.Fatalf("generate: %d\n%s", code, o)
	}
	clean := treeState(t, out)
	// A switch interrupted after its commit: one file to rename back to
	// what it was, one to remove (then restore).
	target := "overlays/a/kustomization.yaml"
	orig, _ := os.ReadFile(filepath.Join(out, target))
	writeFile(t, filepath.Join(out, target), generator.Header+"# half-way\n")
	tmp, err := writeTemp(filepath.Join(out, "overlays", "a"), "kustomization.yaml", orig, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ops := []journalOp{{Op: "rename", Path: target, From: "overlays/a/" + filepath.Base(tmp)}}
	if err := commitJournal(out, journal{Format: journalVersion, Ops: ops}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"diff", "-i", inv, "-o", out},
		{"generate", "--check", "-i", inv, "-o", out},
		{"validate", "-i", inv, "-o", out},
		{"build", "a", "-o", out},
	} {
		code, o := runMain(t, env, args...)
		if code != exitDrift || !strings.Contains(o, "an interrupted generate left its switch unfinished") {
			t.Errorf("%v: exit %d\n%s", args, code, o)
		}
	}
	code, o := runMain(t, env, "generate", "-i", inv, "-o", out)
	if code != 0 || !strings.Contains(o, "completed the switch an interrupted run left (1 operation)") {
		t.Fatalf("generate: %d\n%s", code, o)
	}
	if d := diffStates(clean, treeState(t, out)); d != "" {
		t.Errorf("after the completed switch:\n%s", d)
	}

	// planted commits a journal of one operation and checks that generate
	// refuses it, leaving the file it names where it is.
	planted := func(label string, op journalOp, want, kept string) {
		t.Helper()
		if err := commitJournal(out, journal{Format: journalVersion, Ops: []journalOp{op}}); err != nil {
			t.Fatal(err)
		}
		code, o := runMain(t, env, "generate", "-i", inv, "-o", out)
		if code != exitBad || !strings.Contains(o, want) {
			t.Errorf("%s: exit %d\n%s", label, code, o)
		}
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s: %v", label, err)
		}
	}

	// A planted journal that would remove a file outside meshgen's.
	writeFile(t, filepath.Join(out, "README.md"), "mine\n")
	planted("planted journal", journalOp{Op: "remove", Path: "README.md"},
		"operation 1 names a path outside meshgen's files", filepath.Join(out, "README.md"))
	os.Remove(filepath.Join(out, journalName))

	// A planted journal that removes a generated file behind a link.
	elsewhere := filepath.Join(dir, "elsewhere")
	writeFile(t, filepath.Join(elsewhere, "kustomization.yaml"), generator.Header+"kind: Kustomization\n")
	if err := os.Symlink(elsewhere, filepath.Join(out, "overlays", "x")); err != nil {
		t.Fatal("symlink:", err)
	}
	planted("journal through a link", journalOp{Op: "remove", Path: "overlays/x/kustomization.yaml"},
		"overlays/x is a symbolic link; the switch does not write through it", filepath.Join(elsewhere, "kustomization.yaml"))
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressOnTerminal runs a first generate (which issues every
// certificate) once on a terminal, under script(1), and once into a pipe:
// progress is shown on the terminal only.
func TestProgressOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("script(1) not found; CI must run this test")
		}
		t.Skip("script(1) not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "meshgen")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	inv, err := filepath.Abs("../../docs/examples/multi-network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "-qec", bin+" generate --allow-test-keys -i "+inv+" -o "+filepath.Join(dir, "tty"), "/dev/null")
	cmd.Env = append(os.Environ(), "MESHGEN_NO_CACHE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("on a terminal: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "meshgen: issuing certificates 2/2") {
		t.Errorf("no progress on a terminal:\n%q", out)
	}
	cmd = exec.Command(bin, "generate", "--allow-test-keys", "-i", inv, "-o", filepath.Join(dir, "pipe"))
	cmd.Env = append(os.Environ(), "MESHGEN_NO_CACHE=1")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("into a pipe: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "issuing certificates") {
		t.Errorf("progress written into a pipe:\n%s", out)
	}
}

package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestQuickstart follows docs/quickstart.md as a new user would, in an
// empty directory: the shell blocks of its sections 2 on (keys, inventory,
// generate, diff, validate, build, check) are run by bash, in order, exactly
// as written, with the real age-keygen and meshgen on PATH. The docs'
// commands are the test's commands, so they cannot drift apart. Section 1
// installs from the network and is checked instead for the age-keygen version
// it pins.
func TestQuickstart(t *testing.T) {
	md, err := os.ReadFile("../../docs/quickstart.md")
	if err != nil {
		t.Fatal(err)
	}
	install, steps := quickstartBlocks(t, md)

	// The age-keygen the docs install is the version meshgen is built with.
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*filippo\.io/age (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require filippo.io/age")
	}
	if want := "go install filippo.io/age/cmd/age-keygen@" + string(m[1]); !strings.Contains(install, want) {
		t.Errorf("quickstart.md's install section lacks %q", want)
	}

	script := "set -euo pipefail\n" + steps
	for _, cmd := range []string{"age-keygen -o ", "meshgen generate ", "meshgen diff ", "meshgen validate ", "meshgen build ", "meshgen generate --check "} {
		if !strings.Contains(script, cmd) {
			t.Errorf("the quickstart no longer runs %q", cmd)
		}
	}
	// The first run's message, as the docs quote it.
	written := regexp.MustCompile("`(meshgen: fleet/: [0-9]+ files written, 0 removed)`").FindSubmatch(md)
	if written == nil {
		t.Fatal("quickstart.md no longer quotes what the first generate prints")
	}

	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "age-keygen"), "filippo.io/age/cmd/age-keygen").CombinedOutput(); err != nil {
		t.Fatalf("go build age-keygen: %v\n%s", err, out)
	}
	dir := t.TempDir()
	txtar := `# The commands of docs/quickstart.md, sections 2 on.
exec bash quickstart.sh
stderr '^Public key: age1'
stderr '^` + regexp.QuoteMeta(string(written[1])) + `$'
stderr '^meshgen: 3 secrets decrypted and checked '
stderr '^meshgen: inventory.yaml: 2 overlays valid$'
! stderr 'hint|error|test-only'
exists fleet/overlays/cluster1/install/cacerts.sops.yaml fleet/overlays/cluster2/install/cacerts.sops.yaml
grep '^kind: Namespace$' cluster1.yaml

# The keys made are the ones the secrets are encrypted to: cluster1's key
# opens cluster1's cacerts and nothing else.
env SOPS_AGE_KEY_FILE=cluster1.agekey
exec meshgen validate -i inventory.yaml -o fleet/
stderr '^meshgen: 1 secret decrypted and checked \(integrity, key matches certificate\): fleet/overlays/cluster1/install/cacerts.sops.yaml$'

-- quickstart.sh --
` + script
	if err := os.WriteFile(filepath.Join(dir, "quickstart.txtar"), []byte(txtar), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
	})
}

// quickstartBlocks returns the text of the ```sh blocks of section 1
// (install) and, separately, of every later section, in order.
func quickstartBlocks(t *testing.T, md []byte) (install, steps string) {
	var b strings.Builder
	section, in, blocks := "", false, 0
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "## "):
			section = strings.TrimPrefix(l, "## ")
		case strings.HasPrefix(l, "```"):
			if !in && strings.TrimSpace(l) != "```sh" {
				in = false
				// A block in another language (yaml): skip to its end.
				for sc.Scan() && !strings.HasPrefix(sc.Text(), "```") {
				}
				continue
			}
			in = !in
			if in {
				blocks++
			}
		case in && strings.HasPrefix(section, "1."):
			install += l + "\n"
		case in:
			b.WriteString(l + "\n")
		}
	}
	if blocks < 5 {
		t.Fatalf("only %d shell blocks in quickstart.md", blocks)
	}
	return install, b.String()
}

package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator/inventory"
)

var update = flag.Bool("update", false, "rewrite the expected messages of testdata/bad/*.stderr")

// generatedBad are the bad inputs too large to commit: the test writes them.
var generatedBad = map[string]func(valid []byte) []byte{
	// One byte over the limit, otherwise a valid inventory padded with a
	// comment: the size alone is the problem.
	"too-large": func(valid []byte) []byte {
		pad := inventory.MaxSize + 1 - len(valid) - len("# \n")
		return append(valid, "# "+strings.Repeat("x", pad)+"\n"...)
	},
}

// wholeFile are the inputs whose problem is the file as a whole, so that
// their message has no line and column.
var wholeFile = map[string]bool{"empty": true, "only-comments": true, "too-large": true}

// badRunBound only guards against hangs (an alias bomb, a blocking read);
// bad input normally fails in milliseconds.
const badRunBound = 30 * time.Second

// TestBadInputs runs `meshgen generate` on every inventory of testdata/bad
// (NAME.yaml, expected stderr in NAME.stderr), once into an empty output
// directory and once into an existing generated tree: exit 2, exactly the
// expected messages with positions, and not a byte of either tree changed.
// go test -run TestBadInputs -update rewrites the .stderr files.
func TestBadInputs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	badDir := filepath.Join(wd, "testdata", "bad")
	names := map[string]bool{}
	for name := range generatedBad {
		names[name] = true
	}
	yamls, _ := filepath.Glob(filepath.Join(badDir, "*.yaml"))
	for _, y := range yamls {
		names[strings.TrimSuffix(filepath.Base(y), ".yaml")] = true
	}
	stderrs, _ := filepath.Glob(filepath.Join(badDir, "*.stderr"))
	for _, s := range stderrs {
		name := strings.TrimSuffix(filepath.Base(s), ".stderr")
		if !names[name] && !*update {
			t.Errorf("%s has no %s.yaml", s, name)
		}
	}
	if len(names) < 30 {
		t.Errorf("only %d bad inputs; the corpus should cover at least 30", len(names))
	}

	// One generated tree from the valid inventory, copied for every case.
	work := t.TempDir()
	valid := filepath.Join(wd, "testdata", "valid.yaml")
	validData, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	template := filepath.Join(work, "template")
	var stderr bytes.Buffer
	if code := Main([]string{"generate", "--allow-test-keys", "-i", valid, "-o", template}, &bytes.Buffer{}, &stderr, noEnv); code != exitOK {
		t.Fatalf("generate the valid tree: exit %d\n%s", code, stderr.String())
	}
	// A user's file inside an overlay, which must survive too.
	if err := os.WriteFile(filepath.Join(template, "overlays", "a", "user-patch.yaml"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Messages name the inventory as given with -i: run from a directory
	// holding NAME.yaml, so that the expected stderr is independent of
	// where the repository is.
	t.Chdir(work)
	for name := range names {
		t.Run(name, func(t *testing.T) {
			var data []byte
			if gen, ok := generatedBad[name]; ok {
				data = gen(validData)
			} else {
				var err error
				if data, err = os.ReadFile(filepath.Join(badDir, name+".yaml")); err != nil {
					t.Fatal(err)
				}
			}
			input := name + ".yaml"
			if err := os.WriteFile(input, data, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(input)
			wantFile := filepath.Join(badDir, name+".stderr")

			empty := filepath.Join(work, name+"-empty")
			existing := filepath.Join(work, name+"-existing")
			if err := os.Mkdir(empty, 0o755); err != nil {
				t.Fatal(err)
			}
			copyTree(t, template, existing)
			var first string
			for _, out := range []string{empty, existing} {
				before := treeState(t, out)
				var stdout, stderr bytes.Buffer
				start := time.Now()
				code := Main([]string{"generate", "--allow-test-keys", "-i", input, "-o", out}, &stdout, &stderr, noEnv)
				if d := time.Since(start); d > badRunBound {
					t.Errorf("-o %s: took %v (guard: %v)", filepath.Base(out), d, badRunBound)
				}
				if code != exitBad {
					t.Errorf("-o %s: exit %d, want %d", filepath.Base(out), code, exitBad)
				}
				if stdout.Len() > 0 {
					t.Errorf("-o %s: stdout not empty:\n%s", filepath.Base(out), stdout.String())
				}
				if d := diffStates(before, treeState(t, out)); d != "" {
					t.Errorf("-o %s: the tree changed:\n%s", filepath.Base(out), d)
				}
				got := stderr.String()
				if first == "" {
					first = got
				} else if got != first {
					t.Errorf("messages differ between an empty and an existing tree:\n%s\nvs\n%s", first, got)
				}
			}
			checkBadMessages(t, name, first)
			if *update {
				if err := os.WriteFile(wantFile, []byte(first), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if first != string(want) {
				t.Errorf("stderr:\n%s\nwant (%s):\n%s", first, filepath.Base(wantFile), want)
			}
		})
	}
}

var positioned = regexp.MustCompile(`^[^:]+\.yaml:[1-9][0-9]*:[1-9][0-9]*: `)

// checkBadMessages holds every message to meshgen's rules: one finding per
// line, each with its line and column (unless the whole file is the
// problem), a closing "meshgen: " summary, and no message longer than a
// reader can take in.
func checkBadMessages(t *testing.T, name, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr %q: want newline-terminated messages", stderr)
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "meshgen: ") {
		t.Errorf("last line %q: want a 'meshgen: ' summary", last)
	}
	for _, l := range lines {
		if len(l) > 400 {
			t.Errorf("message of %d bytes: %.100s...", len(l), l)
		}
		if strings.HasPrefix(l, "meshgen: ") {
			continue
		}
		if !strings.HasPrefix(l, name+".yaml:") {
			t.Errorf("message %q does not name the file", l)
		}
		if !wholeFile[name] && !positioned.MatchString(l) {
			t.Errorf("message %q has no line:column", l)
		}
	}
	if wholeFile[name] {
		return
	}
	if !positioned.MatchString(lines[0]) {
		t.Errorf("first message %q has no position", lines[0])
	}
}

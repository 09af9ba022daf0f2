package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestCompletionTableMatchesFlagSets checks that every flag of every
// command's FlagSet is in commandTable, with its shorthand and whether it
// takes a value, and that the table names no flag a command lacks.
func TestCompletionTableMatchesFlagSets(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	for _, cmd := range commandTable {
		fs := c.flagSetOf(cmd.name)
		if fs == nil {
			t.Errorf("%s: the command builds no FlagSet", cmd.name)
			continue
		}
		specs := map[string]flagSpec{}
		for _, f := range cmd.flags {
			specs[f.name] = f
		}
		fs.VisitAll(func(f *pflag.Flag) {
			spec, ok := specs[f.Name]
			if !ok {
				t.Errorf("%s --%s is missing from commandTable", cmd.name, f.Name)
				return
			}
			delete(specs, f.Name)
			if spec.short != f.Shorthand {
				t.Errorf("%s --%s: table shorthand %q, flag %q", cmd.name, f.Name, spec.short, f.Shorthand)
			}
			if isBool := f.Value.Type() == "bool"; isBool != (spec.value == noValue) {
				t.Errorf("%s --%s: table and flag disagree on whether it takes a value", cmd.name, f.Name)
			}
		})
		for name := range specs {
			t.Errorf("%s: commandTable names --%s, which the command does not have", cmd.name, name)
		}
	}
}

// TestHelpEveryCommand checks that every command answers --help with its
// flags and examples, and that the overview names every command.
func TestHelpEveryCommand(t *testing.T) {
	for _, cmd := range commandTable {
		var stdout, stderr bytes.Buffer
		args := append(strings.Fields(cmd.name), "--help")
		if code := Main(args, &stdout, &stderr, os.Getenv); code != 0 {
			t.Errorf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Examples:\n") {
			t.Errorf("%s --help shows no examples:\n%s", cmd.name, stdout.String())
		}
		if !strings.Contains(usage, "meshgen "+cmd.name) {
			t.Errorf("the usage text does not mention 'meshgen %s'", cmd.name)
		}
	}
}

// TestCompletionScripts checks that each script offers every command and
// flag, and that the shells at hand parse it.
func TestCompletionScripts(t *testing.T) {
	check := map[string]string{"bash": "bash", "zsh": "zsh", "fish": "fish"}
	for _, shell := range shells {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"completion", shell}, &stdout, &stderr, os.Getenv); code != 0 {
			t.Fatalf("completion %s: exit %d\n%s", shell, code, stderr.String())
		}
		script := stdout.String()
		for _, name := range commands {
			if !strings.Contains(script, name) {
				t.Errorf("%s: no command %s", shell, name)
			}
		}
		for _, cmd := range commandTable {
			for _, f := range cmd.flags {
				want := "--" + f.name
				if shell == "fish" {
					want = "-l " + f.name
				}
				if !strings.Contains(script, want) {
					t.Errorf("%s: no flag %s of %s", shell, want, cmd.name)
				}
			}
		}
		bin, err := exec.LookPath(check[shell])
		if err != nil {
			t.Logf("%s not installed; not checking the syntax", shell)
			continue
		}
		file := filepath.Join(t.TempDir(), "meshgen."+shell)
		os.WriteFile(file, stdout.Bytes(), 0o644)
		if out, err := exec.Command(bin, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
	var stderr bytes.Buffer
	if code := Main([]string{"completion", "powershell"}, &bytes.Buffer{}, &stderr, os.Getenv); code != exitBad {
		t.Errorf("completion powershell: exit %d, want %d", code, exitBad)
	}
}

// TestBashCompletion runs the bash script's completion function on a few
// command lines.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	var script bytes.Buffer
	Main([]string{"completion", "bash"}, &script, &bytes.Buffer{}, os.Getenv)
	file := filepath.Join(t.TempDir(), "meshgen.bash")
	os.WriteFile(file, script.Bytes(), 0o644)
	for _, tc := range []struct{ line, want string }{
		{"meshgen ge", "generate"},
		{"meshgen generate --ch", "--check"},
		{"meshgen diff --format ", "text json"},
		{"meshgen routes --format ", "text json"},
		{"meshgen routes --from ", ""},
		{"meshgen routes --h", "--host --help"},
		{"meshgen credentials ", "set"},
		{"meshgen credentials set --to", "--token-file"},
		{"meshgen completion ", "bash zsh fish"},
		{"meshgen help val", "validate"},
	} {
		words := strings.Fields(tc.line)
		if strings.HasSuffix(tc.line, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + file + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			string(rune('0'+len(words)-1)) + "\n_meshgen\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

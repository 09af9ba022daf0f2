// Command meshgen turns an inventory of Kubernetes clusters into the
// kustomize overlays that join them into one Istio multicluster mesh.
//
// This package is the only code that touches the disk, the clock, the
// environment and the terminal; everything else is computed by package
// generator from values.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/spf13/pflag"
)

func main() {
	// A run is short and allocates a lot once; collecting less often trades
	// a little peak memory (well under 300 MB on a 200-cluster fleet) for
	// time.
	debug.SetGCPercent(200)
	// MESHGEN_CPUPROFILE=FILE writes a CPU profile of the run, for
	// docs/performance.md's measurements.
	if p := os.Getenv("MESHGEN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// Exit statuses.
const (
	exitOK    = 0 // done; no drift, no findings
	exitDrift = 1 // the tree is stale, or validation found problems
	exitBad   = 2 // bad input, usage or I/O
)

// cli carries one invocation's streams and environment, so that tests can
// run many invocations in one process.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	progressShown  bool
	// allowTestKeys: the command was given --allow-test-keys
	// (registerAllowTestKeys), or encrypts nothing (routes).
	allowTestKeys bool
	// onFlagSet, when set, sees every FlagSet a command builds: the
	// completion scripts and their tests read the flags from there.
	onFlagSet func(*pflag.FlagSet)
	// inv is the run's one read of its inventory (inventoryBytes).
	inv *readOnce
	// ids is the run's one read of its age identities (identities).
	ids *identitiesOnce
	// tree is the run's one read of its output directory (treeOf).
	tree *treeOnce
}

// errorf prints a message in meshgen's one voice: "meshgen: ...".
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "meshgen: "+format+"\n", args...)
}

// hintf prints a known fix.
func (c *cli) hintf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "meshgen: hint: "+format+"\n", args...)
}

// Main runs meshgen with args (without the program name) and returns its
// exit status.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	return c.main(args)
}

func (c *cli) main(args []string) int {
	stdout, stderr := c.stdout, c.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBad
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return c.main(append(rest[:1:1], "--help"))
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	for _, spec := range commandTable {
		if first, _, _ := strings.Cut(spec.name, " "); first == cmd {
			return spec.run(c, rest)
		}
	}
	c.errorf("unknown command %q", cmd)
	c.hintf("commands are %s", strings.Join(commands, ", "))
	return exitBad
}

// commands are the top-level commands, in the order of commandTable.
var commands []string

// usage is meshgen's help text, its command lines from commandTable.
var usage string

func usageText() string {
	var b strings.Builder
	b.WriteString(`meshgen turns an inventory of clusters, networks and exported services into
the per-cluster kustomize overlays of one Istio multicluster mesh.

Usage:
`)
	for _, spec := range commandTable {
		for _, line := range spec.synopsis {
			if len(line[0]) < 40 {
				fmt.Fprintf(&b, "  meshgen %-40s%s\n", line[0], line[1])
			} else {
				fmt.Fprintf(&b, "  meshgen %s\n  %48s%s\n", line[0], "", line[1])
			}
		}
	}
	b.WriteString(`
Run 'meshgen COMMAND --help' for a command's flags and examples.

Exit status: 0 ok, 1 stale tree or findings, 2 bad input, usage or I/O error.
`)
	return b.String()
}

// commandTable is the one list of meshgen's commands: Main dispatches on
// it, the usage text and the completion scripts are written from it. The flags' descriptions come
// from the commands' own FlagSets, and a test checks that every flag of
// every FlagSet is here and nothing else is, so the two cannot drift.
var commandTable []commandSpec

// The table refers to the commands' methods, which read it (help, unknown
// commands, completion), so it is filled in at init.
func init() {
	commandTable = commandSpecs()
	commands = topLevel()
	usage = usageText()
}

func commandSpecs() []commandSpec {
	return []commandSpec{
		{name: "generate", summary: "write or refresh the generated tree", run: (*cli).generate, synopsis: [][2]string{
			{"generate [-i inventory.yaml] [-o DIR]", "write or refresh the tree"},
			{"generate --check", "exit 1 if the tree is stale"},
		}, flags: []flagSpec{
			inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
			{name: "root-cert", value: fileValue},
			{name: "root-key", value: fileValue},
			{name: "check"},
		}},
		{name: "diff", summary: "route changes and unified diff of what generate would change", run: (*cli).diff, synopsis: [][2]string{
			{"diff", "what generate would change: routes, then a unified diff"},
		}, flags: []flagSpec{
			inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
			{name: "format", value: choiceValue, choices: outputFormats},
		}},
		{name: "routes", summary: "the route table: who reaches which service, how", run: (*cli).routes, synopsis: [][2]string{
			{"routes [--from C] [--host H]", "the route table: who reaches which service, how"},
		}, flags: []flagSpec{
			inventoryFlag,
			{name: "from", value: wordValue},
			{name: "host", value: wordValue},
			{name: "format", value: choiceValue, choices: outputFormats},
		}},
		{name: "validate", summary: "inventory checks and a kustomize build of every overlay", run: (*cli).validate, synopsis: [][2]string{
			{"validate", "inventory lint + build every overlay"},
		}, flags: []flagSpec{
			inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
		}},
		{name: "build", summary: "kustomize build of one overlay to stdout", args: "CLUSTER", run: (*cli).build, synopsis: [][2]string{
			{"build CLUSTER", "kustomize build of one overlay to stdout"},
		}, flags: []flagSpec{
			inventoryFlag, outputFlag, allowTestKeysFlag,
		}},
		{name: "credentials set", summary: "store a cluster's API credential, encrypted", args: "CLUSTER", run: (*cli).credentials, synopsis: [][2]string{
			{"credentials set CLUSTER --token-file F --ca-file F", "store an API credential, encrypted"},
		}, flags: []flagSpec{
			inventoryFlag, outputFlag,
			{name: "token-file", value: fileValue},
			{name: "ca-file", value: fileValue},
			waitFlag, allowTestKeysFlag,
		}},
		{name: "version", summary: "print meshgen's version", run: (*cli).version, synopsis: [][2]string{
			{"version", "print the version"},
		}},
		{name: "completion", summary: "print a shell completion script", args: "SHELL", choices: shells, run: (*cli).completion, synopsis: [][2]string{
			{"completion bash|zsh|fish", "print a shell completion script"},
		}},
	}
}

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
	// allowTestKeys: the command was given --allow-test-keys.
	allowTestKeys bool
	// onFlagSet, when set, sees every FlagSet a command builds: the
	// completion scripts and their tests read the flags from there.
	onFlagSet func(*pflag.FlagSet)
	// inv is the run's one read of its inventory (inventoryBytes).
	inv *readOnce
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
	case "generate":
		return c.generate(rest)
	case "diff":
		return c.diff(rest)
	case "routes":
		return c.routes(rest)
	case "validate":
		return c.validate(rest)
	case "build":
		return c.build(rest)
	case "version":
		return c.version(rest)
	case "credentials":
		return c.credentials(rest)
	case "completion":
		return c.completion(rest)
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return c.main(append(rest[:1:1], "--help"))
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	c.errorf("unknown command %q", cmd)
	c.hintf("commands are %s", strings.Join(commands, ", "))
	return exitBad
}

// commands are the top-level commands, in the order of commandTable.
var commands = topLevel()

const usage = `meshgen turns an inventory of clusters, networks and exported services into
the per-cluster kustomize overlays of one Istio multicluster mesh.

Usage:
  meshgen generate [-i inventory.yaml] [-o DIR]   write or refresh the tree
  meshgen generate --check                        exit 1 if the tree is stale
  meshgen diff                                    what generate would change: routes, then a unified diff
  meshgen routes [--from C] [--host H]            the route table: who reaches which service, how
  meshgen validate                                inventory lint + build every overlay
  meshgen build CLUSTER                           kustomize build of one overlay to stdout
  meshgen credentials set CLUSTER --token-file F --ca-file F
                                                  store an API credential, encrypted
  meshgen version                                 print the version
  meshgen completion bash|zsh|fish                print a shell completion script

Run 'meshgen COMMAND --help' for a command's flags and examples.

Exit status: 0 ok, 1 stale tree or findings, 2 bad input, usage or I/O error.
`

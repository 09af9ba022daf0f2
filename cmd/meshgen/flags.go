package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// common are the flags every tree command takes.
type common struct {
	inventory string
	out       string
	identity  string
	rootCert  string
	rootKey   string
	// preview: the command only compares (diff, generate --check), so
	// secrets it cannot write without an identity are reported as pending
	// rather than failing the run.
	preview bool
	// wait: when another run holds the output directory's lock, wait for
	// it rather than fail.
	wait bool
}

func (c *cli) flagSet(name, summary, examples string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.SortFlags = false
	if c.onFlagSet != nil {
		c.onFlagSet(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(c.stdout, "%s\n\nUsage:\n  meshgen %s%s [flags]\n\nFlags:\n%s", summary, name, operands(name), fs.FlagUsages())
		if examples != "" {
			fmt.Fprintf(c.stdout, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// operands are a command's positional arguments for its usage line, as
// commandTable lists them.
func operands(name string) string {
	for _, cmd := range commandTable {
		switch {
		case cmd.name != name:
		case len(cmd.choices) > 0:
			return " " + strings.Join(cmd.choices, "|")
		case cmd.args != "":
			return " " + cmd.args
		}
	}
	return ""
}

// register defines the flags every tree command takes.
func (c *cli) register(fs *pflag.FlagSet, co *common) {
	fs.StringVarP(&co.inventory, "inventory", "i", "inventory.yaml", "inventory file")
	fs.StringVarP(&co.out, "output", "o", ".", "output directory (the fleet repository root)")
	fs.StringVar(&co.identity, "identity", "", "age identity file, besides SOPS_AGE_KEY_FILE and SOPS_AGE_KEY; needed only to issue or re-encrypt secrets")
	fs.BoolVar(&co.wait, "wait", false, "if another meshgen run is writing the output directory, wait for it to finish instead of failing")
	c.registerAllowTestKeys(fs)
}

// registerAllowTestKeys defines --allow-test-keys, the opt-in of meshgen's
// own examples and tests to the test-only recipients whose private keys
// are published (inventory.TestOnlyRecipients). It is a flag, not an
// inventory field, so that copying an example does not copy the opt-in.
func (c *cli) registerAllowTestKeys(fs *pflag.FlagSet) {
	fs.BoolVar(&c.allowTestKeys, "allow-test-keys", false, "accept the test-only age recipients whose private keys are published in meshgen's repository (testdata/age); only for meshgen's own examples and tests")
}

// parse parses flags; it returns ok=false with the exit status to use when
// the command should stop (help asked for, or a usage error).
func (c *cli) parse(fs *pflag.FlagSet, args []string) (status int, ok bool) {
	fs.SetOutput(discard{})
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		// pflag has already printed the usage (through fs.Usage).
		return exitOK, false
	}
	if err != nil {
		c.errorf("%s: %v", fs.Name(), err)
		c.hintf("run 'meshgen %s --help' for usage", fs.Name())
		return exitBad, false
	}
	return 0, true
}

// outputFormats are the values of --format (diff, routes).
var outputFormats = []string{"text", "json"}

// knownFormat reports whether format is one of outputFormats, printing the
// usage error when it is not.
func (c *cli) knownFormat(fs *pflag.FlagSet, format string) bool {
	if slices.Contains(outputFormats, format) {
		return true
	}
	c.errorf("%s: unknown --format %q (want %s)", fs.Name(), format, strings.Join(outputFormats, " or "))
	return false
}

// noOperands reports whether a command that takes no arguments was given
// none, printing the usage error when it was.
func (c *cli) noOperands(fs *pflag.FlagSet) bool {
	if fs.NArg() == 0 {
		return true
	}
	c.errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	return false
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

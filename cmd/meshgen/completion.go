package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// commandTable is the one list of meshgen's commands and their flags that
// the completion scripts are written from. The flags' descriptions come
// from the commands' own FlagSets, and a test checks that every flag of
// every FlagSet is here and nothing else is, so the two cannot drift.
var commandTable = []commandSpec{
	{name: "generate", summary: "write or refresh the generated tree", flags: []flagSpec{
		inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
		{name: "root-cert", value: fileValue},
		{name: "root-key", value: fileValue},
		{name: "check"},
	}},
	{name: "diff", summary: "route changes and unified diff of what generate would change", flags: []flagSpec{
		inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
		{name: "format", value: choiceValue, choices: diffFormats},
	}},
	{name: "routes", summary: "the route table: who reaches which service, how", flags: []flagSpec{
		inventoryFlag,
		{name: "from", value: wordValue},
		{name: "host", value: wordValue},
		{name: "format", value: choiceValue, choices: routeFormats},
	}},
	{name: "validate", summary: "inventory checks and a kustomize build of every overlay", flags: []flagSpec{
		inventoryFlag, outputFlag, identityFlag, waitFlag, allowTestKeysFlag,
	}},
	{name: "build", summary: "kustomize build of one overlay to stdout", args: "CLUSTER", flags: []flagSpec{
		inventoryFlag, outputFlag, allowTestKeysFlag,
	}},
	{name: "credentials set", summary: "store a cluster's API credential, encrypted", args: "CLUSTER", flags: []flagSpec{
		inventoryFlag, outputFlag,
		{name: "token-file", value: fileValue},
		{name: "ca-file", value: fileValue},
		waitFlag, allowTestKeysFlag,
	}},
	{name: "version", summary: "print meshgen's version"},
	{name: "completion", summary: "print a shell completion script", args: "SHELL", choices: shells},
}

// commandSpec is one command: its name ("credentials set" for a command
// with a subcommand), positional arguments and flags.
type commandSpec struct {
	name    string
	summary string
	args    string   // positional arguments, for help text
	choices []string // the values of the positional argument, when fixed
	flags   []flagSpec
}

type valueKind int

const (
	noValue     valueKind = iota // a boolean flag
	fileValue                    // a file name
	dirValue                     // a directory name
	choiceValue                  // one of choices
	wordValue                    // a value from the inventory: nothing to complete
)

type flagSpec struct {
	name, short string
	value       valueKind
	choices     []string
}

var (
	inventoryFlag = flagSpec{name: "inventory", short: "i", value: fileValue}
	outputFlag    = flagSpec{name: "output", short: "o", value: dirValue}
	identityFlag  = flagSpec{name: "identity", value: fileValue}
	waitFlag      = flagSpec{name: "wait"}
	// allowTestKeysFlag is --allow-test-keys (registerAllowTestKeys).
	allowTestKeysFlag = flagSpec{name: "allow-test-keys"}
	shells            = []string{"bash", "zsh", "fish"}
)

// topLevel lists the first words of the table's commands.
func topLevel() []string {
	var out []string
	for _, cmd := range commandTable {
		first, _, _ := strings.Cut(cmd.name, " ")
		if !slices.Contains(out, first) {
			out = append(out, first)
		}
	}
	return out
}

func (c *cli) completion(args []string) int {
	fs := c.flagSet("completion", "Print a static shell completion script for meshgen's commands and flags.",
		`  source <(meshgen completion bash)                              # bash, this shell
  meshgen completion bash > /etc/bash_completion.d/meshgen          # bash, every shell
  meshgen completion zsh > "${fpath[1]}/_meshgen"                   # zsh
  meshgen completion fish > ~/.config/fish/completions/meshgen.fish # fish
`)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 || !slices.Contains(shells, fs.Arg(0)) {
		c.errorf("completion: want one of %s", strings.Join(shells, ", "))
		c.hintf("run 'meshgen completion --help' for usage")
		return exitBad
	}
	usage := c.flagUsages()
	switch fs.Arg(0) {
	case "bash":
		writeBash(c.stdout)
	case "zsh":
		writeZsh(c.stdout, usage)
	case "fish":
		writeFish(c.stdout, usage)
	}
	return exitOK
}

// flagSetOf returns the FlagSet a command builds, as it builds it: the
// command runs with --help, into the void.
func (c *cli) flagSetOf(command string) *pflag.FlagSet {
	var got *pflag.FlagSet
	sub := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" },
		onFlagSet: func(fs *pflag.FlagSet) { got = fs }}
	sub.main(append(strings.Fields(command), "--help"))
	return got
}

// flagUsages maps "command --flag" to the flag's usage text.
func (c *cli) flagUsages() map[string]string {
	out := map[string]string{}
	for _, cmd := range commandTable {
		fs := c.flagSetOf(cmd.name)
		if fs == nil {
			continue
		}
		fs.VisitAll(func(f *pflag.Flag) {
			out[cmd.name+" --"+f.Name] = f.Usage
		})
	}
	return out
}

// words lists the completions of a command's flags, long and short.
func (cmd commandSpec) words() []string {
	var out []string
	for _, f := range cmd.flags {
		out = append(out, "--"+f.name)
		if f.short != "" {
			out = append(out, "-"+f.short)
		}
	}
	return append(out, "--help")
}

func writeBash(w io.Writer) {
	fmt.Fprint(w, `# bash completion for meshgen; generated by 'meshgen completion bash'.
#   source <(meshgen completion bash)

_meshgen() {
    local cur prev cmd
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
`)
	fmt.Fprintf(w, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(append(slices.Clone(commands), "help"), " "))
	fmt.Fprint(w, `        return
    fi
    cmd="${COMP_WORDS[1]}"
    if [[ $cmd == help ]]; then
`)
	fmt.Fprintf(w, "        ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(commands, " "))
	fmt.Fprint(w, `        return
    fi
`)
	// Commands with a subcommand complete it as their first argument.
	for _, parent := range commands {
		var subs []string
		for _, cmd := range commandTable {
			if p, sub, ok := strings.Cut(cmd.name, " "); ok && p == parent {
				subs = append(subs, sub)
			}
		}
		if len(subs) == 0 {
			continue
		}
		fmt.Fprintf(w, "    if [[ $cmd == %s ]]; then\n", parent)
		fmt.Fprintf(w, "        if ((COMP_CWORD == 2)); then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(subs, " "))
		fmt.Fprint(w, "        cmd=\"$cmd ${COMP_WORDS[2]}\"\n    fi\n")
	}
	fmt.Fprint(w, "    case \"$cmd\" in\n")
	for _, cmd := range commandTable {
		fmt.Fprintf(w, "    %q)\n", cmd.name)
		if len(cmd.flags) > 0 {
			fmt.Fprint(w, "        case \"$prev\" in\n")
			for _, f := range cmd.flags {
				names := "--" + f.name
				if f.short != "" {
					names += "|-" + f.short
				}
				switch f.value {
				case fileValue:
					fmt.Fprintf(w, "        %s) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", names)
				case dirValue:
					fmt.Fprintf(w, "        %s) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", names)
				case choiceValue:
					fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", names, strings.Join(f.choices, " "))
				case wordValue:
					fmt.Fprintf(w, "        %s) return ;;\n", names)
				}
			}
			fmt.Fprint(w, "        esac\n")
		}
		if len(cmd.choices) > 0 {
			fmt.Fprintf(w, "        [[ $cur != -* ]] && COMPREPLY=($(compgen -W %q -- \"$cur\")) && return\n", strings.Join(cmd.choices, " "))
		}
		fmt.Fprintf(w, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        ;;\n", strings.Join(cmd.words(), " "))
	}
	fmt.Fprint(w, `    esac
}
complete -F _meshgen meshgen
`)
}

// zshQuote quotes s for a single-quoted zsh word inside an _arguments or
// _describe spec, where ':' '[' and ']' are special.
func zshQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
	return strings.ReplaceAll(s, "'", `'\''`)
}

func writeZsh(w io.Writer, usage map[string]string) {
	fmt.Fprint(w, `#compdef meshgen
# zsh completion for meshgen; generated by 'meshgen completion zsh'.
#   meshgen completion zsh > "${fpath[1]}/_meshgen"

_meshgen() {
  local -a commands
  commands=(
`)
	for _, name := range commands {
		fmt.Fprintf(w, "    '%s:%s'\n", name, zshQuote(summaryOf(name)))
	}
	fmt.Fprint(w, `  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'meshgen command' commands
    return
  fi
  local cmd=$words[2]
  if [[ $cmd == help ]]; then
    (( CURRENT == 3 )) && _describe -t commands 'meshgen command' commands
    return
  fi
  shift words; (( CURRENT-- ))
`)
	for _, parent := range commands {
		var subs []string
		for _, cmd := range commandTable {
			if p, sub, ok := strings.Cut(cmd.name, " "); ok && p == parent {
				subs = append(subs, fmt.Sprintf("'%s:%s'", sub, zshQuote(cmd.summary)))
			}
		}
		if len(subs) == 0 {
			continue
		}
		fmt.Fprintf(w, "  if [[ $cmd == %s ]]; then\n", parent)
		fmt.Fprintf(w, "    if (( CURRENT == 2 )); then\n      local -a subs; subs=(%s)\n      _describe -t commands '%s command' subs\n      return\n    fi\n", strings.Join(subs, " "), parent)
		fmt.Fprint(w, "    cmd=\"$cmd $words[2]\"; shift words; (( CURRENT-- ))\n  fi\n")
	}
	fmt.Fprint(w, "  case $cmd in\n")
	for _, cmd := range commandTable {
		fmt.Fprintf(w, "  %q)\n    _arguments -s \\\n", cmd.name)
		for _, f := range cmd.flags {
			desc := zshQuote(usage[cmd.name+" --"+f.name])
			action := ""
			switch f.value {
			case fileValue:
				action = ":file:_files"
			case dirValue:
				action = ":directory:_files -/"
			case choiceValue:
				action = ":" + f.name + ":(" + strings.Join(f.choices, " ") + ")"
			case wordValue:
				action = ":" + f.name + ": "
			}
			if f.short != "" {
				fmt.Fprintf(w, "      '(-%s --%s)'{-%s,--%s}'[%s]%s' \\\n", f.short, f.name, f.short, f.name, desc, action)
			} else {
				fmt.Fprintf(w, "      '--%s[%s]%s' \\\n", f.name, desc, action)
			}
		}
		fmt.Fprint(w, "      '(-h --help)'{-h,--help}'[show help]'")
		switch {
		case len(cmd.choices) > 0:
			fmt.Fprintf(w, " \\\n      '1:%s:(%s)'", strings.ToLower(cmd.args), strings.Join(cmd.choices, " "))
		case cmd.args != "":
			fmt.Fprintf(w, " \\\n      '1:%s: '", strings.ToLower(cmd.args))
		}
		fmt.Fprint(w, "\n    ;;\n")
	}
	fmt.Fprint(w, `  esac
}

if [[ $funcstack[1] == _meshgen ]]; then
  _meshgen "$@"
else
  compdef _meshgen meshgen
fi
`)
}

// fishQuote quotes s as a single-quoted fish string.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, usage map[string]string) {
	fmt.Fprint(w, `# fish completion for meshgen; generated by 'meshgen completion fish'.
#   meshgen completion fish > ~/.config/fish/completions/meshgen.fish

complete -c meshgen -f
`)
	top := strings.Join(append(slices.Clone(commands), "help"), " ")
	for _, name := range commands {
		fmt.Fprintf(w, "complete -c meshgen -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", top, name, fishQuote(summaryOf(name)))
	}
	fmt.Fprintf(w, "complete -c meshgen -n 'not __fish_seen_subcommand_from %s' -a help -d 'help on a command'\n", top)
	fmt.Fprintf(w, "complete -c meshgen -n '__fish_seen_subcommand_from help' -a %s\n", fishQuote(strings.Join(commands, " ")))
	for _, cmd := range commandTable {
		cond := "__fish_seen_subcommand_from " + cmd.name
		if parent, sub, ok := strings.Cut(cmd.name, " "); ok {
			fmt.Fprintf(w, "complete -c meshgen -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s -d %s\n", parent, sub, sub, fishQuote(cmd.summary))
			cond = "__fish_seen_subcommand_from " + parent + "; and __fish_seen_subcommand_from " + sub
		}
		if len(cmd.choices) > 0 {
			fmt.Fprintf(w, "complete -c meshgen -n '%s' -a %s\n", cond, fishQuote(strings.Join(cmd.choices, " ")))
		}
		for _, f := range cmd.flags {
			line := fmt.Sprintf("complete -c meshgen -n '%s' -l %s", cond, f.name)
			if f.short != "" {
				line += " -s " + f.short
			}
			switch f.value {
			case fileValue:
				line += " -r -F"
			case dirValue:
				line += " -r -a '(__fish_complete_directories)'"
			case choiceValue:
				line += " -x -a " + fishQuote(strings.Join(f.choices, " "))
			case wordValue:
				line += " -x"
			}
			fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(usage[cmd.name+" --"+f.name]))
		}
	}
}

// summaryOf is the summary of a top-level command; for one with
// subcommands, of its first.
func summaryOf(name string) string {
	for _, cmd := range commandTable {
		if first, _, _ := strings.Cut(cmd.name, " "); first == name {
			return cmd.summary
		}
	}
	return ""
}

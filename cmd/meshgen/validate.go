package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/sops"
)

func (c *cli) validate(args []string) int {
	var co common
	fs := c.flagSet("validate", "Check the inventory, kustomize-build the overlay of every cluster, and check the PKI of the generated tree on disk, without writing anything.",
		`  meshgen validate -i inventory.yaml -o fleet/
  SOPS_AGE_KEY_FILE=operator.agekey meshgen validate -i inventory.yaml -o fleet/
`)
	c.register(fs, &co)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	unlock, st := c.lockToRead(co)
	if unlock == nil {
		return st
	}
	defer unlock()
	s, st := c.compute(co)
	if s == nil {
		return st
	}
	files := s.tree.Map()
	findings := 0
	for _, cl := range s.inv.Clusters {
		if _, err := generator.Build(files, cl.Name); err != nil {
			c.errorf("cluster %s: %v", cl.Name, err)
			findings++
		}
	}
	// The builds above check what generate would write; the tree on disk
	// is what clusters get, so its secrets are checked as they are.
	if len(s.disk.Files) > 0 {
		r := generator.CheckReport(s.inv, s.disk.Files, s.ids, time.Now().UTC())
		// Findings are positioned as compilers and linters print them
		// (file:line:col: msg), so editors and CI annotations jump there.
		for _, f := range r.Findings {
			f.Path = filepath.Join(co.out, filepath.FromSlash(f.Path))
			fmt.Fprintln(c.stderr, f)
			findings++
		}
		c.reportDecrypted(co, r, len(s.ids) > 0)
	}
	if findings > 0 {
		return exitDrift
	}
	fmt.Fprintf(c.stderr, "meshgen: %s: %d %s valid\n", co.inventory, len(s.inv.Clusters), plural(len(s.inv.Clusters), "overlay", "overlays"))
	return exitOK
}

// reportDecrypted says which secrets validate opened and checked in full,
// and which only by their plaintext (certificates, recipients), so that a
// partial identity never reads as a complete check.
func (c *cli) reportDecrypted(co common, r *generator.Report, haveIDs bool) {
	list := func(paths []string) string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = filepath.Join(co.out, filepath.FromSlash(p))
		}
		return strings.Join(out, ", ")
	}
	if !haveIDs {
		if n := len(r.NotDecrypted); n > 0 {
			c.errorf("no age identity given: %d %s checked by %s certificates and recipients only, not decrypted", n, plural(n, "secret", "secrets"), plural(n, "its", "their"))
		}
		return
	}
	if n := len(r.Decrypted); n > 0 {
		c.errorf("%d %s decrypted and checked (integrity, key matches certificate): %s", n, plural(n, "secret", "secrets"), list(r.Decrypted))
	}
	if n := len(r.NotDecrypted); n > 0 {
		c.errorf("%d %s not decrypted (no identity given can open %s; certificates and recipients checked only): %s", n, plural(n, "secret", "secrets"), plural(n, "it", "them"), list(r.NotDecrypted))
	}
}

// identities loads the age identities from SOPS_AGE_KEY_FILE, SOPS_AGE_KEY
// and --identity once per run: generate's check cache and compute share
// them. Every file is read bounded and only if it is a regular file; errors
// name where the identity came from.
func (c *cli) identities(co common) ([]age.Identity, error) {
	if c.ids == nil || c.ids.identity != co.identity {
		ids, err := c.readIdentities(co)
		c.ids = &identitiesOnce{identity: co.identity, ids: ids, err: err}
	}
	return c.ids.ids, c.ids.err
}

// identitiesOnce is the one read of a run's identities.
type identitiesOnce struct {
	identity string // --identity
	ids      []age.Identity
	err      error
}

func (c *cli) readIdentities(co common) ([]age.Identity, error) {
	ids, err := sops.IdentitiesFromEnv(c.getenv, readIdentityFile)
	if err != nil || co.identity == "" {
		return ids, err
	}
	data, err := readIdentityFile(co.identity)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	more, err := sops.ParseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("--identity %s: %w", co.identity, err)
	}
	return append(ids, more...), nil
}

func readIdentityFile(file string) ([]byte, error) {
	return readBounded(file, maxIdentitySize, "an age identity file")
}

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
)

// The check cache makes `generate --check` on an unchanged fleet cost little
// more than reading the tree. After a check or generate that found the tree
// current, it records a digest of every input and of the tree; a later
// --check that finds the same digests, before the first certificate falls
// due, knows the answer without parsing the inventory or regenerating.
//
// The inputs digested: the meshgen executable (path, size, modification
// time), the inventory's path and bytes, the trusted-root files it names,
// the output directory's path, and the public side of the identities given
// (with an identity, files are also checked for tampering). The tree digest
// covers every generated file's path and bytes, and the names of the foreign
// files and leftovers that meshgen reacts to. Anything else changing means a
// miss and a full run. MESHGEN_NO_CACHE=1 turns the cache off; CI, which
// starts from a fresh machine, never has one.

type checkCacheEntry struct {
	Inputs string    `json:"inputs"`
	Tree   string    `json:"tree"`
	Until  time.Time `json:"until"`
	Files  []string  `json:"files"` // trusted-root files digested into Inputs
}

// checkCachePath is where the entry for an output directory lives, or ""
// when there is no cache.
func (c *cli) checkCachePath(out string) string {
	if c.getenv("MESHGEN_NO_CACHE") != "" {
		return ""
	}
	dir := c.getenv("XDG_CACHE_HOME")
	if dir == "" {
		home := c.getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".cache")
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "meshgen", "check", hex.EncodeToString(sum[:16])+".json")
}

// inputsDigest digests everything but the tree and the clock.
func (c *cli) inputsDigest(co common, invData []byte, files []string, ids []age.Identity) (string, error) {
	h := sha256.New()
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", err
	}
	invAbs, _ := filepath.Abs(co.inventory)
	outAbs, _ := filepath.Abs(co.out)
	fmt.Fprintf(h, "meshgen check cache v1\n%s\n%d %d\n%s\n%s\n", exe, fi.Size(), fi.ModTime().UnixNano(), invAbs, outAbs)
	fmt.Fprintf(h, "allow-test-keys %t\n%d\n", c.allowTestKeys, len(invData))
	h.Write(invData)
	for _, f := range files {
		data, err := readBounded(f, maxPEMSize, "a PEM certificate")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\n%s %d\n", f, len(data))
		h.Write(data)
	}
	var pubs []string
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			pubs = append(pubs, x.Recipient().String())
		} else {
			pubs = append(pubs, fmt.Sprintf("%T", id))
		}
	}
	sort.Strings(pubs)
	fmt.Fprintf(h, "\nidentities %s\n", strings.Join(pubs, ","))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// treeDigest digests the tree as read from disk.
func treeDigest(d *disk) string {
	h := sha256.New()
	paths := make([]string, 0, len(d.Files))
	for p := range d.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "F %s %d\n", p, len(d.Files[p]))
		h.Write(d.Files[p])
	}
	var other []string
	for p := range d.Foreign {
		other = append(other, "X "+p)
	}
	for _, p := range d.Stale {
		other = append(other, "T "+p)
	}
	sort.Strings(other)
	for _, o := range other {
		fmt.Fprintln(h, o)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkCacheHit reports whether a recorded check proves the tree current.
func (c *cli) checkCacheHit(co common, ids []age.Identity) bool {
	_, hit := c.cacheLookup(co, ids)
	return hit
}

// generateCacheHit is checkCacheHit for a plain generate, which must also
// find nothing to tidy: every file's mode right (a fresh clone's secrets are
// 0644; generate restores 0600) and no temporary files left by a killed run.
func (c *cli) generateCacheHit(co common, ids []age.Identity) bool {
	d, hit := c.cacheLookup(co, ids)
	if !hit || len(d.Stale) > 0 {
		return false // leftovers of a killed run are generate's to remove
	}
	for p, mode := range d.Modes {
		want := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sops.yaml") && path.Base(p) != ".sops.yaml" {
			want = 0o600
		}
		if mode != want {
			return false
		}
	}
	return true
}

func (c *cli) cacheLookup(co common, ids []age.Identity) (*disk, bool) {
	path := c.checkCachePath(co.out)
	if path == "" {
		return nil, false
	}
	data, err := readBounded(path, 1<<20, "a check cache entry")
	if err != nil {
		return nil, false
	}
	var e checkCacheEntry
	if json.Unmarshal(data, &e) != nil || !time.Now().Before(e.Until) {
		return nil, false
	}
	invData, err := c.inventoryBytes(co.inventory)
	if err != nil {
		return nil, false
	}
	in, err := c.inputsDigest(co, invData, e.Files, ids)
	if err != nil || in != e.Inputs {
		return nil, false
	}
	d, err := c.treeOf(co.out)
	if err != nil || treeDigest(d) != e.Tree {
		return nil, false
	}
	return d, true
}

// recordCheck remembers that the tree in s, as read from disk and left
// unchanged by this run, is current. Failures only cost the next check its
// shortcut, so they are ignored.
func (c *cli) recordCheck(co common, s *state) {
	path := c.checkCachePath(co.out)
	if path == "" || s.tree.StableUntil.IsZero() {
		return
	}
	in, err := c.inputsDigest(co, s.invData, s.trusted, s.ids)
	if err != nil {
		return
	}
	data, err := json.Marshal(checkCacheEntry{Inputs: in, Tree: treeDigest(s.disk), Until: s.tree.StableUntil, Files: s.trusted})
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	tmp := path + ".tmp"
	if os.WriteFile(tmp, data, 0o600) == nil {
		os.Rename(tmp, path)
	}
}

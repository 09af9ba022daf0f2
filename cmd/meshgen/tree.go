package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/meshgen/meshgen/generator"
)

// ownedRoots are the only places of the output directory meshgen looks at.
// Within them a file is meshgen's when its first line carries the
// generated-file marker; every other file is left alone.
var ownedRoots = []string{".sops.yaml", "MESH.md", "argocd", "credentials", "flux", "overlays", "pki"}

// inputRoots hold files other commands write and generate only reads.
var inputRoots = []string{"credentials"}

// disk is the generated part of an output directory as found on disk.
type disk struct {
	root    string
	files   map[string][]byte      // generated files by slash path
	modes   map[string]fs.FileMode // their permissions
	foreign map[string]bool        // other files (and symlinks) within the owned roots
	links   []string               // the symbolic links among them
	stale   []string               // temporary files an interrupted run left behind
}

// staleTemp matches the temporary files apply writes (see writeTemp). One
// found on disk was left by a run that was killed before renaming it: it is
// meshgen's, and is removed by the next generate.
var staleTemp = regexp.MustCompile(`^\..+\.meshgen-[0-9a-f]{12}\.tmp$`)

// readTree reads the files meshgen owns below root. A missing root is an
// empty tree. Symbolic links are never followed.
func readTree(root string) (*disk, error) {
	d := &disk{root: root, files: map[string][]byte{}, modes: map[string]fs.FileMode{}, foreign: map[string]bool{}}
	if fi, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return d, nil
	} else if err != nil {
		return nil, err
	} else if !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
		return nil, fmt.Errorf("output %s is not a directory", root)
	}
	// The temporary files of the owned files at the top (.sops.yaml,
	// MESH.md) sit beside them, outside the owned roots.
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if staleTemp.MatchString(e.Name()) && e.Type().IsRegular() && ownedTopTemp(e.Name()) {
				d.stale = append(d.stale, e.Name())
			}
		}
	}
	for _, r := range ownedRoots {
		start := filepath.Join(root, r)
		if _, err := os.Lstat(start); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			switch {
			case e.Type()&fs.ModeSymlink != 0:
				d.foreign[rel] = true
				d.links = append(d.links, rel)
				return nil
			case e.IsDir():
				return nil
			case !e.Type().IsRegular():
				d.foreign[rel] = true
				return nil
			case staleTemp.MatchString(e.Name()):
				d.stale = append(d.stale, rel)
				return nil
			}
			data, generated, err := readIfGenerated(p)
			if err != nil {
				return err
			}
			if !generated {
				d.foreign[rel] = true
				return nil
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			d.files[rel] = data
			d.modes[rel] = info.Mode().Perm()
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// tempTarget is the name of the file a temporary file was written for.
func tempTarget(name string) string {
	name = strings.TrimPrefix(name, ".")
	return name[:strings.LastIndex(name, ".meshgen-")]
}

// readIfGenerated reads a file whole only when its first line marks it as
// generated, so that large foreign files cost one small read.
func readIfGenerated(p string) ([]byte, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	first, err := br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, false, err
	}
	if !generator.IsGenerated(first) {
		return nil, false, nil
	}
	// first points into br's buffer, which the next read overwrites.
	data := append([]byte(nil), first...)
	rest, err := io.ReadAll(br)
	if err != nil {
		return nil, false, err
	}
	return append(data, rest...), true, nil
}

// change is one file operation of a plan.
type change struct {
	path     string
	op       byte // 'A' add, 'M' modify, 'D' delete, 'P' permissions only, 'T' remove a stale temporary file
	old, new []byte
	mode     fs.FileMode
	// pending, in a preview, says why this secret would change: its new
	// content needs an identity the run was not given (generator.Tree.Pending).
	pending string
}

// plan compares the tree on disk with the generated one.
func plan(d *disk, t *generator.Tree) ([]change, error) {
	var changes []change
	var conflicts, ancestors []string
	want := map[string]bool{}
	for _, f := range t.Files {
		want[f.Path] = true
		mode := fs.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		old, ok := d.files[f.Path]
		switch {
		case d.foreignParent(f.Path):
			// Name the link (or file) in the way, once, rather than every
			// file meshgen would write behind it.
			if at := d.foreignAncestor(f.Path); !slices.Contains(ancestors, at) {
				ancestors = append(ancestors, at)
			}
		case d.foreign[f.Path]:
			conflicts = append(conflicts, f.Path)
		case !ok:
			changes = append(changes, change{path: f.Path, op: 'A', new: f.Data, mode: mode})
		case !bytes.Equal(old, f.Data):
			changes = append(changes, change{path: f.Path, op: 'M', old: old, new: f.Data, mode: mode})
		case d.modes[f.Path] != mode:
			// Git does not keep modes: a fresh clone has 0644 secret files.
			// The content is current, so this is no drift; generate fixes
			// the mode.
			changes = append(changes, change{path: f.Path, op: 'P', mode: mode})
		}
	}
	if len(conflicts) > 0 || len(ancestors) > 0 {
		ce := &conflictError{paths: conflicts}
		sort.Strings(ancestors)
		for _, p := range ancestors {
			if slices.Contains(d.links, p) {
				ce.links = append(ce.links, p)
			} else {
				ce.paths = append(ce.paths, p)
			}
		}
		return nil, ce
	}
	for p, old := range d.files {
		switch {
		case !want[p] && !isInput(p):
			changes = append(changes, change{path: p, op: 'D', old: old})
		case isInput(p) && strings.HasSuffix(p, ".sops.yaml") && d.modes[p] != 0o600:
			// A stored credential is a secret like the generated ones; a
			// fresh clone has it 0644.
			changes = append(changes, change{path: p, op: 'P', mode: 0o600})
		}
	}
	for _, p := range d.stale {
		changes = append(changes, change{path: p, op: 'T'})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].path < changes[j].path })
	return changes, nil
}

func isInput(p string) bool {
	for _, r := range inputRoots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// foreignParent reports whether a directory on the way to p is a foreign
// file or a symbolic link, which meshgen must not write through.
func (d *disk) foreignParent(p string) bool {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if d.foreign[dir] {
			return true
		}
	}
	return false
}

// foreignAncestor is the topmost foreign directory entry (a symbolic link,
// or a file where a directory belongs) on the way to p.
func (d *disk) foreignAncestor(p string) string {
	at := ""
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if d.foreign[dir] {
			at = dir
		}
	}
	return at
}

type conflictError struct {
	paths []string // files in the way
	links []string // symbolic links in the way
}

func (e *conflictError) Error() string {
	var msgs []string
	if len(e.paths) > 0 {
		msgs = append(msgs, fmt.Sprintf("%s exists but was not generated by meshgen (or is a symbolic link); refusing to overwrite it", strings.Join(e.paths, ", ")))
	}
	for _, l := range e.links {
		msgs = append(msgs, fmt.Sprintf("%s is a symbolic link; meshgen neither reads nor writes through it, so it cannot write what belongs there", l))
	}
	return strings.Join(msgs, "\nmeshgen: ")
}

func writeTemp(dir, base string, data []byte, mode fs.FileMode) (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, "."+base+".meshgen-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // the umask may have narrowed or widened nothing; be exact
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// removeEmptyDirs removes dir and its parents up to root while they are empty.
func removeEmptyDirs(root, dir string) {
	root = filepath.Clean(root)
	for dir = filepath.Clean(dir); dir != root && strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return
		}
	}
}

func syncDirs(dirs []string) {
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if f, err := os.Open(d); err == nil {
			f.Sync()
			f.Close()
		}
	}
}

// drift drops permission-only changes and the removal of stale temporary
// files: they are not drift, only a property of the checkout.
// withPending adds to changes the secrets a preview could not write: each
// is added or modified, with the reason, but its new content unknown.
func withPending(changes []change, d *disk, t *generator.Tree) []change {
	if len(t.Pending) == 0 {
		return changes
	}
	at := map[string]int{}
	for i, c := range changes {
		at[c.path] = i
	}
	for p, why := range t.Pending {
		if i, ok := at[p]; ok {
			// Only the mode differed (the prior bytes were kept).
			changes[i].op, changes[i].old, changes[i].pending = 'M', d.files[p], why
			continue
		}
		old, ok := d.files[p]
		op := byte('A')
		if ok {
			op = 'M'
		}
		changes = append(changes, change{path: p, op: op, old: old, new: old, pending: why})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].path < changes[j].path })
	return changes
}

func drift(changes []change) []change {
	var out []change
	for _, c := range changes {
		if c.op != 'P' && c.op != 'T' {
			out = append(out, c)
		}
	}
	return out
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/generator"
)

// A generate run changes the tree as one switch, so that a run that fails or
// is killed at any point leaves either the old tree or the new one:
//
//  1. Stage: every new file is written, synced, to a temporary file beside
//     its target. A crash here leaves the old tree plus temporary files,
//     which the next run removes (they match staleTemp).
//  2. Commit: the list of every rename, removal and mode change of the
//     switch is written to a journal file, synced, and renamed into place
//     at the top of the tree (journalName). That rename is the moment the
//     run switches from the old tree to the new one.
//  3. Switch: the journal's operations are carried out in order, then the
//     journal is removed. Each operation is idempotent: a rename whose
//     temporary file is gone was done; a removal of a missing file was done.
//
// A run killed during step 3 leaves the journal. Every later generate, under
// the tree's lock, first replays it to the end (rolling forward: every staged
// file is on disk, so the new tree can always be completed), then goes on.
// diff, generate --check, validate and build refuse to judge a tree with a
// journal, which is a mix of old and new files until generate completes it.

// journalName is the switch journal, at the top of the output directory.
const journalName = ".meshgen-journal"

// journalVersion identifies the journal format.
const journalVersion = "meshgen switch v1"

type journal struct {
	Format string      `json:"format"`
	Ops    []journalOp `json:"ops"`
}

// journalOp is one operation of a switch. Paths are slash-separated and
// relative to the output directory.
type journalOp struct {
	// Op is "rename" (From, a staged temporary file, becomes Path),
	// "remove" (Path, a generated file, is removed) or "chmod".
	Op   string      `json:"op"`
	Path string      `json:"path"`
	From string      `json:"from,omitempty"`
	Mode fs.FileMode `json:"mode,omitempty"`
}

// crashPoint, when set, is called before every staged write, rename and
// removal of a write (and of a recovery). Tests set it to stop a run at each point in
// turn as a crash would; crashpoint_kill.go sets it, in a binary built with
// -tags crashpoints, to SIGKILL the process at the point MESHGEN_CRASH_AT
// names.
var crashPoint func(op, path string)

// writeFault, when set, is asked before each staged file is written and
// may fail the write as a full disk would; tests set it.
var writeFault func(path string) error

func hit(op, p string) {
	if crashPoint != nil {
		crashPoint(op, p)
	}
}

// apply carries out a plan as one switch (see above). Only encrypted or
// public material is ever written. A failure before the journal is
// committed leaves the tree as it was (the staged files are removed); a
// failure after leaves the journal, and the next generate completes it.
func apply(root string, changes []generator.Change) error {
	// Every path comes from generator's layout or from the tree read below
	// root; one that would leave root is a bug, and nothing is written.
	for _, c := range changes {
		if !filepath.IsLocal(filepath.FromSlash(c.Path)) {
			return fmt.Errorf("internal error: refusing to write %q outside %s", c.Path, root)
		}
	}
	var staged []string
	var dirs []string
	cleanup := func() {
		for _, tmp := range staged {
			os.Remove(tmp)
		}
		// The directories made for new files, so that a failure (a full
		// disk, say) leaves no empty ones behind.
		for _, d := range dirs {
			removeEmptyDirs(root, d)
		}
	}
	var ops, removals []journalOp
	for _, c := range changes {
		switch c.Op {
		case 'D', 'T':
			removals = append(removals, journalOp{Op: "remove", Path: c.Path})
			continue
		case 'P':
			ops = append(ops, journalOp{Op: "chmod", Path: c.Path, Mode: c.Mode})
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(c.Path))
		dir := filepath.Dir(dst)
		dirs = append(dirs, dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			cleanup()
			return err
		}
		hit("write", c.Path)
		if writeFault != nil {
			if err := writeFault(c.Path); err != nil {
				cleanup()
				return err
			}
		}
		tmp, err := writeTemp(dir, filepath.Base(dst), c.New, c.Mode)
		if err != nil {
			cleanup()
			return err
		}
		staged = append(staged, tmp)
		ops = append(ops, journalOp{Op: "rename", Path: c.Path, From: path.Join(path.Dir(c.Path), filepath.Base(tmp))})
	}
	ops = append(ops, removals...)
	if len(ops) == 0 {
		return nil
	}
	// The staged files' directory entries must be durable before the
	// journal that names them.
	syncDirs(dirs)
	if err := commitJournal(root, journal{Format: journalVersion, Ops: ops}); err != nil {
		cleanup()
		return err
	}
	return replay(root, ops)
}

// commitJournal writes the journal durably: a temporary file, synced, then
// renamed into place and the directory synced.
func commitJournal(root string, j journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := writeTemp(root, journalName, append(data, '\n'), 0o644)
	if err != nil {
		return err
	}
	hit("rename", journalName)
	if err := os.Rename(tmp, filepath.Join(root, journalName)); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDirs([]string{root})
	return nil
}

// replay carries out a committed journal's operations and removes it.
func replay(root string, ops []journalOp) error {
	var dirs []string
	for _, op := range ops {
		if at := linkOnPath(root, op.Path); at != "" {
			// Never write or remove through a link, whoever wrote the
			// journal.
			return fmt.Errorf("%s is a symbolic link; the switch does not write through it", at)
		}
		dst := filepath.Join(root, filepath.FromSlash(op.Path))
		switch op.Op {
		case "rename":
			src := filepath.Join(root, filepath.FromSlash(op.From))
			if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
				continue // renamed before an interruption
			}
			hit("rename", op.Path)
			if err := os.Rename(src, dst); err != nil {
				return err
			}
			dirs = append(dirs, filepath.Dir(dst))
		case "chmod":
			if err := os.Chmod(dst, op.Mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		case "remove":
			if !removable(dst) {
				continue
			}
			hit("remove", op.Path)
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			dirs = append(dirs, filepath.Dir(dst))
			removeEmptyDirs(root, filepath.Dir(dst))
		}
	}
	syncDirs(dirs)
	hit("remove", journalName)
	if err := os.Remove(filepath.Join(root, journalName)); err != nil {
		return err
	}
	syncDirs([]string{root})
	return nil
}

// removable reports whether a file the journal removes is still one meshgen
// may remove: a generated file or a temporary file of meshgen's. A file a
// user put there since is kept.
func removable(p string) bool {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if staleTemp.MatchString(filepath.Base(p)) {
		return true
	}
	_, generated, err := readIfGenerated(p)
	return err == nil && generated
}

// pendingJournal reports whether root holds the journal of a switch that
// was interrupted.
func pendingJournal(root string) bool {
	_, err := os.Lstat(filepath.Join(root, journalName))
	return err == nil
}

// recoverSwitch completes the switch an interrupted run left in root, if
// any, and reports the number of operations its journal held. It must run
// under the tree's exclusive lock.
func recoverSwitch(root string) (int, error) {
	p := filepath.Join(root, journalName)
	data, err := readBounded(p, maxJournalSize, "a switch journal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	j, err := parseJournal(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %v; it was not written by this meshgen: check the tree (git status) and remove the file", p, err)
	}
	return len(j.Ops), replay(root, j.Ops)
}

// maxJournalSize bounds the journal read: a few hundred bytes per file of
// the largest tree meshgen writes.
const maxJournalSize = 64 << 20

// parseJournal reads a journal and checks that it only names files meshgen
// owns, so that a journal planted in a repository cannot make meshgen
// rename or remove anything else.
func parseJournal(data []byte) (*journal, error) {
	var j journal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, errors.New("malformed journal")
	}
	if j.Format != journalVersion {
		return nil, fmt.Errorf("unknown journal format")
	}
	for i, op := range j.Ops {
		if !ownedPath(op.Path) {
			return nil, fmt.Errorf("operation %d names a path outside meshgen's files", i+1)
		}
		switch op.Op {
		case "rename":
			if path.Dir(op.From) != path.Dir(op.Path) || !staleTemp.MatchString(path.Base(op.From)) || tempTarget(path.Base(op.From)) != path.Base(op.Path) {
				return nil, fmt.Errorf("operation %d renames a file that is not meshgen's temporary file for %s", i+1, op.Path)
			}
		case "remove":
		case "chmod":
			if op.Mode != 0o600 && op.Mode != 0o644 {
				return nil, fmt.Errorf("operation %d sets an unexpected mode", i+1)
			}
		default:
			return nil, fmt.Errorf("operation %d is unknown", i+1)
		}
	}
	return &j, nil
}

// ownedPath reports whether p is a clean relative path within the roots
// meshgen owns.
func ownedPath(p string) bool {
	if p == "" || path.Clean(p) != p || path.IsAbs(p) || strings.HasPrefix(p, "../") || p == ".." {
		return false
	}
	top, _, nested := strings.Cut(p, "/")
	if !nested && staleTemp.MatchString(top) {
		// A temporary file at the top: of an owned file, or of the journal.
		return ownedTopTemp(top)
	}
	return slices.Contains(generator.OwnedRoots, top)
}

// ownedTopTemp reports whether name, a temporary file at the top of the
// output directory, is one meshgen wrote: for an owned file (.sops.yaml,
// MESH.md) or for the journal.
func ownedTopTemp(name string) bool {
	target := tempTarget(name)
	return slices.Contains(generator.OwnedRoots, target) || target == journalName
}

// linkOnPath returns the first directory on the way to p (slash-separated,
// relative to root) that is a symbolic link, or "".
func linkOnPath(root, p string) string {
	dir := ""
	parts := strings.Split(path.Dir(p), "/")
	for _, part := range parts {
		if part == "." {
			break
		}
		dir = path.Join(dir, part)
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(dir))); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return dir
		}
	}
	return ""
}

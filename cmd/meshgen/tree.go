package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/meshgen/meshgen/generator"
)

// disk is the generated part of an output directory as found on disk, and
// where it was read from.
type disk struct {
	generator.Disk
	root string
}

// staleTemp matches the temporary files apply writes (see writeTemp). One
// found on disk was left by a run that was killed before renaming it: it is
// meshgen's, and is removed by the next generate.
var staleTemp = regexp.MustCompile(`^\..+\.meshgen-[0-9a-f]{12}\.tmp$`)

// readTree reads the files meshgen owns below root. A missing root is an
// empty tree. Symbolic links are never followed.
func readTree(root string) (*disk, error) {
	d := &disk{root: root, Disk: generator.Disk{Files: map[string][]byte{}, Modes: map[string]fs.FileMode{}, Foreign: map[string]bool{}}}
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
				d.Stale = append(d.Stale, e.Name())
			}
		}
	}
	for _, r := range generator.OwnedRoots {
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
				d.Foreign[rel] = true
				d.Links = append(d.Links, rel)
				return nil
			case e.IsDir():
				return nil
			case !e.Type().IsRegular():
				d.Foreign[rel] = true
				return nil
			case staleTemp.MatchString(e.Name()):
				d.Stale = append(d.Stale, rel)
				return nil
			}
			data, generated, err := readIfGenerated(p)
			if err != nil {
				return err
			}
			if !generated {
				d.Foreign[rel] = true
				return nil
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			d.Files[rel] = data
			d.Modes[rel] = info.Mode().Perm()
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// treeOf reads the tree below out once per run: generate's check cache and
// compute share it. Both run under the tree's lock, before anything is
// written.
func (c *cli) treeOf(out string) (*disk, error) {
	if c.tree == nil || c.tree.out != out {
		d, err := readTree(out)
		c.tree = &treeOnce{out: out, d: d, err: err}
	}
	return c.tree.d, c.tree.err
}

// treeOnce is the one read of a run's tree.
type treeOnce struct {
	out string
	d   *disk
	err error
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

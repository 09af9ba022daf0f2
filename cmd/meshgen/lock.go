package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// errLocked reports that another meshgen run holds the output directory's
// lock.
var errLocked = errors.New("locked by another meshgen run")

// lockTree takes the lock of the output directory: exclusive for a run that
// writes (generate, credentials set), shared for one that reads it (diff,
// generate --check, validate, build), so that no run reads a tree another is
// switching and no two runs write at once (two runs issuing a PKI at the
// same time could otherwise each write part of theirs). The lock is
// flock(2) on the directory itself: no lock file is left in the
// repository, and the kernel releases it when a run ends, even by SIGKILL.
//
// A writer creates a missing output directory to lock it; release(false)
// removes again what it created when the run wrote nothing. ok is false
// when the lock could not be had; the reason was printed.
func (c *cli) lockTree(co common, exclusive bool) (release func(wrote bool), ok bool) {
	out := co.out
	// A run that made the output directory and then wrote nothing removes
	// it again, under the lock; a run waiting for that lock then holds the
	// lock of a directory that is gone. So after locking, the locked
	// directory must still be the one at the path; if not, start again.
	for attempt := 0; ; attempt++ {
		var created string // the topmost directory this run created
		if exclusive {
			for dir := filepath.Clean(out); ; dir = filepath.Dir(dir) {
				if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
					break
				}
				created = dir
				if filepath.Dir(dir) == dir {
					break
				}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				c.errorf("create %s: %v", out, err)
				return nil, false
			}
		}
		f, err := os.Open(out)
		if errors.Is(err, fs.ErrNotExist) && !exclusive {
			return func(bool) {}, true // nothing to read, nothing to guard
		}
		if errors.Is(err, fs.ErrNotExist) && attempt < 100 {
			continue // removed by a run that made it, between MkdirAll and Open
		}
		if err == nil {
			if err = flock(f, exclusive, co.wait); err != nil {
				f.Close()
			}
		}
		if err != nil {
			// Whatever this run created is now another run's to keep or
			// remove: it holds the lock.
			if errors.Is(err, errLocked) {
				if exclusive {
					c.errorf("%s is being written or read by another meshgen run; nothing was written", out)
				} else {
					c.errorf("%s is being written by another meshgen run", out)
				}
				c.hintf("wait for it to finish, or pass --wait to wait for it")
			} else {
				c.errorf("lock %s: %v", out, err)
			}
			return nil, false
		}
		if !sameDir(f, out) && attempt < 100 {
			f.Close()
			continue
		}
		return func(wrote bool) {
			if !wrote && created != "" {
				top, err1 := filepath.Abs(filepath.Dir(created))
				dir, err2 := filepath.Abs(out)
				if err1 == nil && err2 == nil {
					removeEmptyDirs(top, dir)
				}
			}
			f.Close() // releases the lock
		}, true
	}
}

// sameDir reports whether the open directory f is still the one at p.
func sameDir(f *os.File, p string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(p)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// recoverTree completes, under the exclusive lock, a switch an interrupted
// run left in the output directory.
func (c *cli) recoverTree(out string) bool {
	n, err := recoverSwitch(out)
	if err != nil {
		c.errorf("complete the interrupted switch in %s: %v", out, err)
		return false
	}
	if n > 0 {
		c.errorf("%s: completed the switch an interrupted run left (%d %s)", out, n, plural(n, "operation", "operations"))
	}
	return true
}

// lockToRead takes the shared lock of the output directory for a command
// that only reads the tree (build, diff, validate) and refuses a tree an
// interrupted switch left mixed. unlock is nil when the command must stop,
// with status as its exit status.
func (c *cli) lockToRead(co common) (unlock func(), status int) {
	release, ok := c.lockTree(co, false)
	if !ok {
		return nil, exitBad
	}
	if c.refusePending(co.out) {
		release(false)
		return nil, exitDrift
	}
	return func() { release(false) }, exitOK
}

// refusePending reports, for a command that only reads the tree, a switch
// an interrupted generate left unfinished: the tree mixes old and new files
// until generate completes it.
func (c *cli) refusePending(out string) bool {
	if !pendingJournal(out) {
		return false
	}
	c.errorf("%s: an interrupted generate left its switch unfinished (%s); the tree mixes old and new files", out, journalName)
	c.hintf("run 'meshgen generate' to complete it")
	return true
}

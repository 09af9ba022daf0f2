//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

const nonblock = 0

// flock is a no-op where flock(2) is missing: runs are not serialised there.
func flock(f *os.File, exclusive, wait bool) error { return nil }

//go:build crashpoints

package main

// A meshgen built with -tags crashpoints kills itself with SIGKILL before
// the rename or removal numbered MESHGEN_CRASH_AT (1-based) of its write,
// so that TestCrashSafety can end a real process at an exact point of the
// switch. Release builds do not contain this file.

import (
	"os"
	"strconv"
	"syscall"
)

func init() {
	at, err := strconv.Atoi(os.Getenv("MESHGEN_CRASH_AT"))
	if err != nil || at < 1 {
		return
	}
	n := 0
	crashPoint = func(op, path string) {
		if n++; n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}

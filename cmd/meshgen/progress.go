package main

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether stderr is a terminal, where progress is shown
// (not a pipe, a file or /dev/null, as in hooks and CI).
func (c *cli) isTerminal() bool {
	f, ok := c.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress shows certificate work on the terminal, on one line.
func (c *cli) progress(done, total int) {
	c.progressShown = true
	fmt.Fprintf(c.stderr, "\rmeshgen: issuing certificates %d/%d", done, total)
}

func (c *cli) endProgress() {
	if c.progressShown {
		fmt.Fprint(c.stderr, "\r\033[K")
		c.progressShown = false
	}
}

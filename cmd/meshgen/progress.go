package main

import (
	"fmt"
	"os"
)

// isTerminal reports whether stderr is a terminal, where progress is shown.
func (c *cli) isTerminal() bool {
	f, ok := c.stderr.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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

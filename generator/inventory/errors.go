package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in the inventory file. Line and Col count from 1; a zero
// Pos means the position is unknown.
type Pos struct {
	Line, Col int
}

// Error is one finding about the inventory, tied to a field path and the
// position of the value it is about.
type Error struct {
	File string
	Pos  Pos
	// Path is the field path, e.g. clusters[1].network; empty for errors
	// about the document as a whole.
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Col)
	}
	b.WriteString(": ")
	// A field path holds the mapping keys of the document, which are as
	// likely to be pasted key material as any value.
	var m strings.Builder
	if e.Path != "" {
		m.WriteString(e.Path)
		m.WriteString(": ")
	}
	m.WriteString(e.Msg)
	b.WriteString(Redact(m.String()))
	return b.String()
}

// ErrorList is every finding of one load or validation, sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// sortErrors orders errors by position, then path and message, and drops
// exact duplicates.
func sortErrors(l ErrorList) ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
	out := l[:0]
	for i, e := range l {
		// Error() is a function of these fields; comparing them spares
		// redacting every message twice.
		if i > 0 && e.File == l[i-1].File && e.Pos == l[i-1].Pos && e.Path == l[i-1].Path && e.Msg == l[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

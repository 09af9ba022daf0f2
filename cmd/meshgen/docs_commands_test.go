package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsCommandLines checks every `meshgen ...` command line in the
// README's and docs' shell blocks: the command exists and takes every flag
// written there (each is run with --help appended, which parses the flags
// and stops). Together with TestDocsExamples this keeps the docs runnable.
func TestDocsCommandLines(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range shellLines(data) {
			args := meshgenArgs(line)
			if args == nil {
				continue
			}
			n++
			var stdout, stderr bytes.Buffer
			if code := Main(append(args, "--help"), &stdout, &stderr, os.Getenv); code != 0 {
				t.Errorf("%s: %q: exit %d\n%s", filepath.Base(f), line, code, stderr.String())
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d meshgen command lines found in the docs", n)
	}
}

// shellLines returns the logical lines of ```sh blocks, with backslash
// continuations joined.
func shellLines(md []byte) []string {
	var out []string
	in := false
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		l := sc.Text()
		trim := strings.TrimSpace(l)
		if strings.HasPrefix(trim, "```") {
			in = trim == "```sh" || trim == "```bash"
			continue
		}
		if !in {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// meshgenArgs extracts the arguments of the first meshgen (or go run
// ./cmd/meshgen) invocation of a shell line, or nil.
func meshgenArgs(line string) []string {
	for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == '&' || r == ';' }) {
		fields := strings.Fields(part)
		for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
			fields = fields[1:] // VAR=value prefixes
		}
		switch {
		case len(fields) > 1 && fields[0] == "meshgen":
			fields = fields[1:]
		case len(fields) > 3 && fields[0] == "go" && fields[1] == "run" && fields[2] == "./cmd/meshgen":
			fields = fields[3:]
		default:
			continue
		}
		var args []string
		for _, f := range fields {
			if strings.HasPrefix(f, "#") || strings.HasPrefix(f, ">") || strings.HasPrefix(f, "2>") {
				break
			}
			args = append(args, f)
		}
		return args
	}
	return nil
}

package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"meshgen": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: exit codes, messages
// and what changed on disk.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// $OPERATOR_KEY: the test-only operator identity of testdata/age,
			// for scripts that need one (env SOPS_AGE_KEY_FILE=$OPERATOR_KEY).
			key, err := filepath.Abs("../../testdata/age/test-only-operator.agekey")
			env.Setenv("OPERATOR_KEY", key)
			// $CLUSTER_KEY: the test-only cluster identity.
			env.Setenv("CLUSTER_KEY", filepath.Join(filepath.Dir(key), "test-only-cluster.agekey"))
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"treehash": treehash,
			"jsonget":  jsonget,
			"exits":    exits,
		},
	})
}

// exits runs a program like exec and requires one exit status, where
// "! exec" accepts any failure: exits 1 PROG ARGS... tells a stale tree
// (1) from bad input (2).
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits STATUS PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit status", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exits: %s exited %d, want %d", args[1], got, want)
	}
}

// treehash prints one line per file below a directory: path, mode and
// SHA-256, so that a script can prove a tree did not change.
func treehash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: treehash DIR")
	}
	root := ts.MkAbs(args[0])
	var lines []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, fmt.Sprintf("%s -> %s", rel, target))
		case e.IsDir():
			lines = append(lines, fmt.Sprintf("%s/ %v", rel, info.Mode().Perm()))
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s %v %x", rel, info.Mode().Perm(), sha256.Sum256(data)))
		}
		return nil
	})
	if err != nil {
		ts.Fatalf("treehash: %v", err)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(ts.Stdout(), l)
	}
}

// jsonget prints the value at a dotted path of a JSON file (list elements
// by index: changes.0.op), failing when the file is not one JSON document
// or the path does not exist. Strings print raw, anything else as JSON.
func jsonget(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonget FILE PATH")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("jsonget: %s: %v", args[0], err)
	}
	if dec.More() {
		ts.Fatalf("jsonget: %s holds more than one JSON document", args[0])
	}
	for _, key := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				ts.Fatalf("jsonget: no %q in %s", key, args[1])
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("jsonget: no element %q in %s", key, args[1])
			}
			v = x[i]
		default:
			ts.Fatalf("jsonget: %s: %q is not inside an object or list", args[1], key)
		}
	}
	if s, ok := v.(string); ok {
		fmt.Fprintln(ts.Stdout(), s)
		return
	}
	out, _ := json.Marshal(v)
	fmt.Fprintln(ts.Stdout(), string(out))
}

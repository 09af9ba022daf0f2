package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPreCommitHooks checks .pre-commit-hooks.yaml: both hooks exist, are
// built with Go from this repository, take no file names, and run a
// meshgen command line this meshgen accepts.
func TestPreCommitHooks(t *testing.T) {
	data, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID            string `yaml:"id"`
		Name          string `yaml:"name"`
		Entry         string `yaml:"entry"`
		Language      string `yaml:"language"`
		PassFilenames *bool  `yaml:"pass_filenames"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&hooks); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"meshgen-check":    "meshgen generate --check",
		"meshgen-generate": "meshgen generate",
	}
	for _, h := range hooks {
		entry, ok := want[h.ID]
		if !ok {
			t.Errorf("unexpected hook %q", h.ID)
			continue
		}
		delete(want, h.ID)
		if h.Entry != entry {
			t.Errorf("%s: entry %q, want %q", h.ID, h.Entry, entry)
		}
		if h.Language != "golang" {
			t.Errorf("%s: language %q, want golang", h.ID, h.Language)
		}
		if h.PassFilenames == nil || *h.PassFilenames {
			t.Errorf("%s: pass_filenames must be false", h.ID)
		}
		if h.Name == "" {
			t.Errorf("%s: no name", h.ID)
		}
		args := append(strings.Fields(h.Entry)[1:], "--help")
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr, os.Getenv); code != 0 {
			t.Errorf("%s: meshgen %s: exit %d\n%s", h.ID, strings.Join(args, " "), code, stderr.String())
		}
	}
	for id := range want {
		t.Errorf("hook %s is missing", id)
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// docsOutputMarker precedes a fenced block in docs/*.md that quotes what
// meshgen makes of an example inventory: a generated file, or the output of
// `meshgen routes`.
var docsOutputMarker = regexp.MustCompile("(?m)^<!-- output of (docs/examples/[a-z0-9-]+\\.yaml): (.+) -->\n```[a-z]*\n((?s:.*?))```\n")

// TestDocsQuoteTheirOutput generates every example inventory the docs quote
// and compares each quoted block with the real output, so that the worked
// examples cannot drift from what meshgen writes.
func TestDocsQuoteTheirOutput(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	env := keyEnv(t)
	trees := map[string]string{} // example -> generated tree
	n := 0
	for _, f := range files {
		md, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docsOutputMarker.FindAllSubmatch(md, -1) {
			example, what, quoted := "../../"+string(m[1]), string(m[2]), string(m[3])
			var got string
			if what == "meshgen routes" {
				got = mustMain(t, env, "routes", "-i", example)
			} else {
				out, ok := trees[example]
				if !ok {
					out = t.TempDir()
					for _, c := range []string{"cluster1", "cluster2"} {
						tok := filepath.Join(t.TempDir(), "token")
						os.WriteFile(tok, []byte("test-only-token\n"), 0o600)
						mustMain(t, env, "credentials", "set", c, "--token-file", tok, "--ca-file", "../../testdata/test-only-api-ca.pem", "-i", example, "-o", out, "--allow-test-keys")
					}
					mustMain(t, env, "generate", "-i", example, "-o", out, "--allow-test-keys")
					trees[example] = out
				}
				data, err := os.ReadFile(filepath.Join(out, what))
				if err != nil {
					t.Errorf("%s quotes %s of %s: %v", f, what, example, err)
					continue
				}
				got = string(data)
			}
			if got != quoted {
				t.Errorf("%s quotes %s of %s as:\n%s\nmeshgen writes:\n%s", f, what, example, quoted, got)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no docs quote meshgen's output")
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExampleUpToDate fails when the checked-in example tree is not what
// inventory.example.yaml generates; run `make example` to refresh it.
func TestExampleUpToDate(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main([]string{"generate", "--check", "--allow-test-keys", "-i", filepath.Join(root, "inventory.example.yaml"), "-o", root}, &stdout, &stderr, os.Getenv)
	if code != 0 {
		t.Fatalf("example tree is stale (exit %d); run 'make example'\n%s%s", code, stdout.String(), stderr.String())
	}
}

package main

import (
	"os"
	"strings"
	"testing"
)

// TestQuickstartURLNamesTheQuickstart ties the missing-inventory hint's URL
// to the file it means in this repository.
func TestQuickstartURLNamesTheQuickstart(t *testing.T) {
	rel, ok := strings.CutPrefix(quickstartURL, "https://"+modulePath+"/blob/main/")
	if !ok {
		t.Fatalf("%s is not a file of meshgen's repository (module %s)", quickstartURL, modulePath)
	}
	if _, err := os.Stat("../../" + rel); err != nil {
		t.Errorf("the hint names %s: %v", rel, err)
	}
}

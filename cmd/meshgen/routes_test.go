package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// TestRoutesJSONStream checks that the streamed JSON list is byte for byte
// what a json.Encoder indenting by two spaces writes of []topology.Route.
func TestRoutesJSONStream(t *testing.T) {
	data, err := os.ReadFile("../../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load("inventory.example.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, routes := range [][]topology.Route{topology.Routes(inv), {}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(routes); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := writeRoutesJSON(w, slices.Values(routes)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got.String() != want.String() {
			t.Errorf("streamed JSON:\n%s\nwant:\n%s", got.String(), want.String())
		}
	}
}

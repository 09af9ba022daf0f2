package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
)

const (
	schemaFile  = "../../../inventory.schema.json"
	exampleFile = "../../../inventory.example.yaml"
)

// TestSchemaUpToDate fails when inventory.schema.json is not what the
// inventory types and their doc comments give; run `make schema`.
func TestSchemaUpToDate(t *testing.T) {
	want, err := generate("../types.go")
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("inventory.schema.json is stale; run 'make schema'")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("inventory.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("inventory.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance turns an inventory's YAML into the JSON value the schema checks.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validInventories are the example and every golden scenario's inventory.
func validInventories(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("# yaml-language-server: $schema=./inventory.schema.json\n")) {
		t.Errorf("%s does not start with the yaml-language-server schema comment", exampleFile)
	}
	out["inventory.example.yaml"] = data
	golden, err := filepath.Glob("../../testdata/golden/*.txtar")
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden scenarios: %v", err)
	}
	for _, p := range golden {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Files) == 0 || a.Files[0].Name != "inventory.yaml" {
			t.Fatalf("%s: no inventory.yaml", p)
		}
		out[filepath.Base(p)] = a.Files[0].Data
	}
	return out
}

// TestValidInventoriesMatchSchema validates the example and every golden
// inventory against the schema: what meshgen accepts, editors accept too.
func TestValidInventoriesMatchSchema(t *testing.T) {
	s := compileSchema(t)
	for name, data := range validInventories(t) {
		inv, err := inventory.Load(name, data)
		if err == nil {
			err = inv.Validate()
		}
		if err != nil {
			t.Errorf("%s: meshgen rejects it: %v", name, err)
		}
		if err := s.Validate(instance(t, data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSchemaRejects checks that the schema catches mistakes meshgen
// rejects too: each case edits the example inventory.
func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"unknown field", "  trustDomain: cluster.local", "  trustDomian: cluster.local"},
		{"unknown nested field", "      address: 203.0.113.10", "      adress: 203.0.113.10"},
		{"installer", "installer: helm", "installer: kubectl"},
		{"discovery", "discovery: remote-secrets", "discovery: dns"},
		{"key algorithm", "keyAlgorithm: ecdsa-p256", "keyAlgorithm: ed25519"},
		{"role", "role: remote", "role: secondary"},
		{"protocol", "protocol: GRPC", "protocol: grpc"},
		{"cluster name", "- name: eu-1", "- name: EU_1"},
		{"duration", "validity: 87600h", "validity: 10y"},
		{"recipient", "recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]", "recipients: [ssh-ed25519]"},
		{"port", "port: 8080", "port: 80800"},
		{"version", "version: 1.28.2", "version: latest"},
		{"missing required", "kind: Inventory\n", ""},
		{"wrong kind", "kind: Inventory", "kind: Inventroy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(example, []byte(tc.old)) {
				t.Fatalf("example has no %q", tc.old)
			}
			bad := bytes.Replace(example, []byte(tc.old), []byte(tc.new), 1)
			if err := s.Validate(instance(t, bad)); err == nil {
				t.Errorf("schema accepts it")
			}
			inv, err := inventory.Load("inventory.yaml", bad)
			if err == nil {
				err = inv.Validate()
			}
			if err == nil {
				t.Errorf("meshgen accepts it, the schema does not")
			}
		})
	}
}

// TestEnumsMatchValidation checks every enum value of the schema against
// inventory.Validate, and that Validate rejects a value outside the enum:
// the schema's enums and the validator's lists cannot drift apart.
func TestEnumsMatchValidation(t *testing.T) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		old    string // the example's line to edit, with %s where the value goes
		values []string
	}{
		{"installer: %s", installers},
		{"discovery: %s", discoveries},
		{"dataplane: %s", dataplanes},
		{"keyAlgorithm: %s", keyAlgorithms},
		{"protocol: %s}", inventory.Protocols},
		{"failover: %s", failovers},
	} {
		key, _, _ := strings.Cut(tc.old, "%s")
		i := bytes.Index(example, []byte(key))
		if i < 0 {
			t.Fatalf("example has no %q", key)
		}
		end := i + len(key) + bytes.IndexAny(example[i+len(key):], "}\n")
		for _, v := range append(tc.values, "not-a-choice") {
			edited := append(append(append([]byte(nil), example[:i+len(key)]...), v...), example[end:]...)
			inv, err := inventory.Load("inventory.yaml", edited)
			if err == nil {
				err = inv.Validate()
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			outside := v == "not-a-choice"
			rejected := strings.Contains(msg, "is not one of")
			if outside != rejected {
				t.Errorf("%s%s: validate says %q", key, v, msg)
			}
		}
	}
}

// TestSchemaKeyAlgorithmsArePKIs ties the checked-in schema to the one list
// of key algorithms, pki.Algorithms: an editor offers exactly what meshgen
// can issue, and the field's doc comment names each of them.
func TestSchemaKeyAlgorithmsArePKIs(t *testing.T) {
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var enum []string
	var find func(v any)
	find = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, w := range v {
				if m, ok := w.(map[string]any); ok && k == "keyAlgorithm" {
					for _, e := range m["enum"].([]any) {
						enum = append(enum, e.(string))
					}
					if d, _ := m["description"].(string); d != "" {
						for _, name := range pki.AlgorithmNames() {
							if !strings.Contains(d, name) {
								t.Errorf("keyAlgorithm's description does not name %s: %q", name, d)
							}
						}
					}
				}
				find(w)
			}
		case []any:
			for _, w := range v {
				find(w)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	find(doc)
	if !slices.Equal(enum, pki.AlgorithmNames()) {
		t.Errorf("schema keyAlgorithm enum %v, pki.Algorithms %v", enum, pki.AlgorithmNames())
	}
	for _, a := range pki.Algorithms {
		if _, err := pki.ParseKeyAlgorithm(string(a)); err != nil {
			t.Error(err)
		}
	}
}

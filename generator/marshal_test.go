package generator

import (
	"bytes"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestToYAMLMatchesSigsYAML re-marshals every object of every golden tree
// both ways and requires the same bytes.
func TestToYAMLMatchesSigsYAML(t *testing.T) {
	n := 0
	for _, sc := range loadScenarios(t) {
		for _, f := range sc.arch.Files {
			for _, doc := range splitDocs(f.Data) {
				var obj any
				if err := yaml.Unmarshal(doc, &obj); err != nil || obj == nil {
					continue
				}
				want, err := yaml.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				got, err := toYAML(obj)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: %s:\ngot:\n%s\nwant:\n%s", sc.file, f.Name, got, want)
				}
				n++
			}
		}
	}
	extra := []any{
		map[string]any{"int": 8080, "big": int64(1) << 40, "float": 1.5, "neg": -3, "bool": true, "null": nil,
			"str": "8080", "yes": "yes", "list": []any{1, "a", false}, "nested": map[string]any{"a10": 1, "a9": 2}},
		&IstioOperator{TypeMeta: TypeMeta{APIVersion: "v", Kind: "k"}},
	}
	for _, obj := range extra {
		want, _ := yaml.Marshal(obj)
		got, err := toYAML(obj)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v: got\n%s\nwant\n%s", err, got, want)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d objects compared", n)
	}
}

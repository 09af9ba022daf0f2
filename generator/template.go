package generator

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/templates"
)

// loadTemplate decodes the documents of a template file strictly into outs,
// one document each.
func loadTemplate(name string, outs ...any) {
	data, err := templates.FS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("generator: template %s: %v", name, err))
	}
	docs := splitDocs(data)
	if len(docs) != len(outs) {
		panic(fmt.Sprintf("generator: template %s has %d documents, want %d", name, len(docs), len(outs)))
	}
	for i, d := range docs {
		if err := yaml.UnmarshalStrict(d, outs[i]); err != nil {
			panic(fmt.Sprintf("generator: template %s document %d: %v", name, i, err))
		}
	}
}

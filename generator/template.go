package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/templates"
)

// templateJSON caches each template file as its documents in JSON, so that
// the YAML is parsed once per process however many clusters use it.
var templateJSON sync.Map // name -> [][]byte

// loadTemplate decodes the documents of a template file strictly into outs,
// one document each: a field the typed value does not know is an error.
func loadTemplate(name string, outs ...any) {
	docs := templateDocs(name)
	if len(docs) != len(outs) {
		panic(fmt.Sprintf("generator: template %s has %d documents, want %d", name, len(docs), len(outs)))
	}
	for i, d := range docs {
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.DisallowUnknownFields()
		if err := dec.Decode(outs[i]); err != nil {
			panic(fmt.Sprintf("generator: template %s document %d: %v", name, i, err))
		}
	}
}

func templateDocs(name string) [][]byte {
	if v, ok := templateJSON.Load(name); ok {
		return v.([][]byte)
	}
	data, err := templates.FS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("generator: template %s: %v", name, err))
	}
	var docs [][]byte
	for _, d := range splitDocs(data) {
		j, err := yaml.YAMLToJSONStrict(d)
		if err != nil {
			panic(fmt.Sprintf("generator: template %s: %v", name, err))
		}
		docs = append(docs, j)
	}
	templateJSON.Store(name, docs)
	return docs
}

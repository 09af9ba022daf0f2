// Command schemagen writes inventory.schema.json, the JSON Schema (draft
// 2020-12) of meshgen's inventory, so that editors complete and check
// inventory files (yaml-language-server reads it from a
// `# yaml-language-server: $schema=...` comment).
//
// The structure comes from the Go types of package inventory (by
// reflection, through their yaml tags: a field without omitempty is
// required), the descriptions from their doc comments (parsed from
// types.go), and the value rules that Go types cannot express (enums,
// patterns, ranges) from the table in rules.go. Run it with `make schema`;
// a test fails when the checked-in schema is stale.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
)

func main() {
	_, self, _, _ := runtime.Caller(0)
	types := flag.String("types", filepath.Join(filepath.Dir(self), "..", "types.go"), "the inventory's types.go, for doc comments")
	out := flag.String("o", "inventory.schema.json", "output file")
	flag.Parse()
	data, err := generate(*types)
	if err != nil {
		fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
		os.Exit(1)
	}
}

// schema is one JSON Schema node; the field order is the output order.
type schema struct {
	Schema               string             `json:"$schema,omitempty"`
	Title                string             `json:"title,omitempty"`
	Description          string             `json:"description,omitempty"`
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Const                any                `json:"const,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	MinLength            int                `json:"minLength,omitempty"`
	MaxLength            int                `json:"maxLength,omitempty"`
	Minimum              *int               `json:"minimum,omitempty"`
	Maximum              *int               `json:"maximum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Examples             []any              `json:"examples,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	MinItems             int                `json:"minItems,omitempty"`
	UniqueItems          bool               `json:"uniqueItems,omitempty"`
	Properties           properties         `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"` // false, or the schema of a map's values
	Defs                 map[string]*schema `json:"$defs,omitempty"`
}

// properties keep the Go field order, which is the order of the docs.
type properties []property

type property struct {
	name string
	s    *schema
}

func (ps properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.name)
		v, err := json.Marshal(p.s)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// docs are the doc comments of types.go: by type, and by type and field.
type docs struct {
	types  map[string]string
	fields map[string]string // "Type.Field"
}

func parseDocs(file string) (*docs, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	pkg, err := doc.NewFromFiles(fset, []*ast.File{f}, "github.com/meshgen/meshgen/generator/inventory")
	if err != nil {
		return nil, err
	}
	d := &docs{types: map[string]string{}, fields: map[string]string{}}
	for _, t := range pkg.Types {
		d.types[t.Name] = paragraph(t.Doc)
		for _, spec := range t.Decl.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				for _, name := range field.Names {
					d.fields[ts.Name.Name+"."+name.Name] = paragraph(field.Doc.Text())
				}
			}
		}
	}
	return d, nil
}

// paragraph joins a comment's lines into one line.
func paragraph(s string) string { return strings.Join(strings.Fields(s), " ") }

// describe turns a field's doc comment into a description: Go comments
// start with the Go name, a reader of YAML knows the YAML key.
func describe(comment, goName, key string) string {
	if rest, ok := strings.CutPrefix(comment, goName); ok && (rest == "" || rest[0] == ' ' || rest[0] == ',') {
		return key + rest
	}
	return comment
}

var durationType = reflect.TypeFor[inventory.Duration]()

type builder struct {
	docs *docs
	defs map[string]*schema
	used map[string]bool // rules applied
}

func generate(typesFile string) ([]byte, error) {
	d, err := parseDocs(typesFile)
	if err != nil {
		return nil, err
	}
	b := &builder{docs: d, defs: map[string]*schema{}, used: map[string]bool{}}
	root := b.object(reflect.TypeFor[inventory.Inventory]())
	for id := range rules {
		if !b.used[id] {
			return nil, fmt.Errorf("rule for %s: no such field", id)
		}
	}
	root.Schema = "https://json-schema.org/draft/2020-12/schema"
	root.Title = "meshgen inventory (" + inventory.APIVersion + ")"
	root.Defs = b.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ref returns a reference to the definition of a named type, building it
// the first time.
func (b *builder) ref(t reflect.Type) *schema {
	name := t.Name()
	if _, ok := b.defs[name]; !ok {
		b.defs[name] = nil // placeholder against recursion
		if t == durationType {
			b.defs[name] = &schema{Description: b.docs.types[name], Type: "string", Pattern: durationPattern, Examples: []any{"8760h", "30m"}}
		} else {
			b.defs[name] = b.object(t)
		}
	}
	return &schema{Ref: "#/$defs/" + name}
}

func (b *builder) object(t reflect.Type) *schema {
	no := false
	s := &schema{Type: "object", Description: b.docs.types[t.Name()], AdditionalProperties: &no}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		key, opts, _ := strings.Cut(tag, ",")
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		id := t.Name() + "." + f.Name
		ps := b.field(f.Type)
		// A description beside a $ref is allowed in 2020-12; the field's
		// says more than its type's.
		ps.Description = describe(b.docs.fields[id], f.Name, key)
		if ps.Description == "" {
			panic("schemagen: no doc comment on " + id)
		}
		required := !strings.Contains(opts, "omitempty")
		if r, ok := rules[id]; ok {
			b.used[id] = true
			r.apply(ps)
			required = required || r.required
		}
		if !required && ps.Type == "string" && ps.Pattern != "" {
			// An optional string may be empty: meshgen reads "" as unset.
			ps.Pattern = "^$|" + ps.Pattern
		}
		s.Properties = append(s.Properties, property{key, ps})
		if required {
			s.Required = append(s.Required, key)
		}
	}
	return s
}

func (b *builder) field(t reflect.Type) *schema {
	if t == durationType {
		return b.ref(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.field(t.Elem())
	case reflect.Struct:
		return b.ref(t)
	case reflect.Slice:
		return &schema{Type: "array", Items: b.field(t.Elem())}
	case reflect.Map:
		return &schema{Type: "object", AdditionalProperties: b.field(t.Elem())}
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Int:
		return &schema{Type: "integer"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	}
	panic("schemagen: unsupported type " + t.String())
}

// durationPattern is a positive Go duration such as 8760h or 1h30m.
const durationPattern = `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

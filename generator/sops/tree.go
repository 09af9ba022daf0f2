package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// The document model mirrors sops' own: a mapping is an ordered list of
// items with string keys, a sequence is []any, and a leaf is one of string,
// int, float64, bool, time.Time or nil. Parsing and emitting go through
// yaml.v3 exactly as sops' YAML store does, so a file we write is
// byte-identical to one sops would write for the same tree.

type item struct {
	key   string
	value any
}

type mapping []item

func (m mapping) get(key string) (any, bool) {
	for _, it := range m {
		if it.key == key {
			return it.value, true
		}
	}
	return nil, false
}

// indent is sops' default YAML indentation (stores/yaml.IndentDefault).
const indent = 4

// maxNodes bounds alias expansion so hostile input cannot make parsing
// exponential.
const maxNodes = 100_000

// parseDocument parses exactly one YAML document whose root is a mapping.
func parseDocument(data []byte) (mapping, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, formatErr(nil, "empty document")
		}
		return nil, formatErr(nil, "invalid YAML: %s", yamlErrLine(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, formatErr(nil, "want exactly one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, formatErr(nil, "empty document")
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		return nil, formatErr(nil, "the document must be a mapping")
	}
	p := parser{budget: maxNodes}
	v, err := p.value(root, nil, 0)
	if err != nil {
		return nil, err
	}
	return v.(mapping), nil
}

// yamlErrLine keeps yaml.v3's "line N: ..." position but drops everything
// else it might quote from the input.
func yamlErrLine(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return "type error"
	}
	msg := err.Error()
	// yaml.v3 syntax errors look like "yaml: line 3: did not find expected key";
	// they describe structure, not content.
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

type parser struct{ budget int }

func (p *parser) value(n *yaml.Node, path []string, depth int) (any, error) {
	p.budget--
	if p.budget < 0 || depth > 100 {
		return nil, formatErr(path, "document too large or too deeply nested")
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(mapping, 0, len(n.Content)/2)
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			for kn.Kind == yaml.AliasNode && kn.Alias != nil {
				kn = kn.Alias
			}
			var k any
			if kn.Kind != yaml.ScalarNode || kn.Decode(&k) != nil {
				return nil, formatErr(path, "mapping key at line %d is not a scalar", kn.Line)
			}
			key, ok := k.(string)
			if !ok {
				return nil, formatErr(path, "mapping key at line %d is a %T; only string keys are supported", kn.Line, k)
			}
			if seen[key] {
				return nil, formatErr(path, "duplicate key %q at line %d", key, kn.Line)
			}
			seen[key] = true
			sub := append(path[:len(path):len(path)], key)
			v, err := p.value(n.Content[i+1], sub, depth+1)
			if err != nil {
				return nil, err
			}
			m = append(m, item{key, v})
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := p.value(c, path, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, formatErr(path, "invalid scalar at line %d", n.Line)
		}
		switch v := v.(type) {
		case nil, string, int, float64, bool, time.Time:
			return v, nil
		case []byte:
			return string(v), nil
		default:
			return nil, formatErr(path, "unsupported value of type %T at line %d", v, n.Line)
		}
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, formatErr(path, "unknown alias at line %d", n.Line)
		}
		return p.value(n.Alias, path, depth+1)
	default:
		return nil, formatErr(path, "unsupported YAML node at line %d", n.Line)
	}
}

// emitDocument writes m the way sops' YAML store does: a fresh yaml.v3 node
// tree, scalars encoded by yaml.v3, indentation 4.
func emitDocument(m mapping) ([]byte, error) {
	root, err := toNode(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("sops: emitting YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("sops: emitting YAML: %w", err)
	}
	return b.Bytes(), nil
}

func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case mapping:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, it := range v {
			k := &yaml.Node{}
			if err := k.Encode(it.key); err != nil {
				return nil, err
			}
			val, err := toNode(it.value)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range v {
			c, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	default:
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			return nil, err
		}
		return n, nil
	}
}

package generator

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
)

// A large fleet has tens of thousands of ServiceEntries, and marshalling
// each through sigs.k8s.io/yaml (JSON, then a YAML parse and re-emit) would
// dominate every run. marshalServiceEntry writes the very same bytes
// directly: the same key order (sorted, as sigs.k8s.io/yaml gives), and
// every scalar quoted by the same YAML library sigs.k8s.io/yaml uses, so no
// value can break or inject YAML. TestServiceEntryYAML holds the two
// byte-identical.

var (
	scalarCache  sync.Map // string -> its YAML form
	mappingCache sync.Map // fmt.Sprint of a small map -> its YAML form
)

// scalar returns s as sigs.k8s.io/yaml would write it.
func scalar(s string) string {
	if plainSafe(s) {
		return s
	}
	if v, ok := scalarCache.Load(s); ok {
		return v.(string)
	}
	out, err := yamlv2.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	v := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(v, "\n") {
		// A multi-line form cannot be inlined; the callers only pass
		// validated names and addresses, so this is a programming error.
		panic("generator: scalar needs more than one line: " + strconv.Quote(s))
	}
	scalarCache.Store(s, v)
	return v
}

type yamlWriter struct{ bytes.Buffer }

func (w *yamlWriter) kv(indent, key, value string) {
	w.WriteString(indent)
	w.WriteString(scalar(key))
	w.WriteString(": ")
	w.WriteString(value)
	w.WriteByte('\n')
}

func (w *yamlWriter) key(indent, key string) {
	w.WriteString(indent)
	w.WriteString(scalar(key))
	w.WriteString(":\n")
}

// mapping writes a small map through the YAML library itself, so that its
// key order (yaml.v2 sorts numbers within keys naturally) and quoting are
// exactly sigs.k8s.io/yaml's.
func (w *yamlWriter) mapping(indent string, m any) {
	key := fmt.Sprint(m) // fmt prints maps sorted by key
	var out []byte
	if v, ok := mappingCache.Load(key); ok {
		out = v.([]byte)
	} else {
		var err error
		if out, err = yamlv2.Marshal(m); err != nil {
			panic(err)
		}
		mappingCache.Store(key, out)
	}
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		w.WriteString(indent)
		w.Write(line)
	}
}

func (w *yamlWriter) stringMap(indent string, m map[string]string) { w.mapping(indent, m) }

// marshalServiceEntry renders se exactly as sigs.k8s.io/yaml.Marshal does.
func marshalServiceEntry(se *ServiceEntry) []byte {
	var w yamlWriter
	w.kv("", "apiVersion", scalar(se.APIVersion))
	w.kv("", "kind", scalar(se.Kind))
	w.key("", "metadata")
	if len(se.Metadata.Annotations) > 0 {
		w.key("  ", "annotations")
		w.stringMap("    ", se.Metadata.Annotations)
	}
	if len(se.Metadata.Labels) > 0 {
		w.key("  ", "labels")
		w.stringMap("    ", se.Metadata.Labels)
	}
	w.kv("  ", "name", scalar(se.Metadata.Name))
	if se.Metadata.Namespace != "" {
		w.kv("  ", "namespace", scalar(se.Metadata.Namespace))
	}
	s := se.Spec
	w.key("", "spec")
	if len(s.Addresses) > 0 {
		w.key("  ", "addresses")
		for _, a := range s.Addresses {
			w.WriteString("  - " + scalar(a) + "\n")
		}
	}
	if s.Endpoints == nil {
		w.kv("  ", "endpoints", "null")
	} else if len(s.Endpoints) == 0 {
		w.kv("  ", "endpoints", "[]")
	} else {
		w.key("  ", "endpoints")
		for _, ep := range s.Endpoints {
			// Fields in sorted order: address, labels, locality, network, ports.
			w.WriteString("  - address: " + scalar(ep.Address) + "\n")
			if len(ep.Labels) > 0 {
				w.key("    ", "labels")
				w.stringMap("      ", ep.Labels)
			}
			if ep.Locality != "" {
				w.kv("    ", "locality", scalar(ep.Locality))
			}
			if ep.Network != "" {
				w.kv("    ", "network", scalar(ep.Network))
			}
			if len(ep.Ports) > 0 {
				w.key("    ", "ports")
				w.mapping("      ", ep.Ports)
			}
		}
	}
	if s.Hosts == nil {
		w.kv("  ", "hosts", "null")
	} else {
		w.key("  ", "hosts")
		for _, h := range s.Hosts {
			w.WriteString("  - " + scalar(h) + "\n")
		}
	}
	w.kv("  ", "location", scalar(s.Location))
	if s.Ports == nil {
		w.kv("  ", "ports", "null")
	} else {
		w.key("  ", "ports")
		for _, p := range s.Ports {
			w.WriteString("  - name: " + scalar(p.Name) + "\n")
			w.kv("    ", "number", strconv.Itoa(p.Number))
			w.kv("    ", "protocol", scalar(p.Protocol))
		}
	}
	w.kv("  ", "resolution", scalar(s.Resolution))
	return w.Bytes()
}

// plainSafe reports, cheaply and conservatively, that the YAML library
// writes s unquoted: DNS names, label keys and values, IPv4 addresses and
// localities. Anything else asks the library itself.
func plainSafe(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	switch s {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null":
		return false
	}
	c := s[0]
	if c >= '0' && c <= '9' {
		// Only dotted quads, which never read as numbers.
		dots := 0
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '.':
				dots++
			case s[i] < '0' || s[i] > '9':
				return false
			}
		}
		return dots == 3 && s[len(s)-1] != '.'
	}
	if c < 'a' || c > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '/' || c == '_') {
			return false
		}
	}
	return true
}

package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest inventory Load accepts. A 200-cluster fleet with
// thousands of services is a few megabytes; anything far larger is a mistake.
const MaxSize = 16 << 20

// maxNodes bounds the work of decoding, so that aliases that expand
// exponentially ("billion laughs") fail fast instead of exhausting memory.
const maxNodes = 2_000_000

// maxScalar bounds every string of an inventory: the longest a field may
// need is a file path (PATH_MAX, 4096). Tighter limits per field are
// Validate's.
const maxScalar = 4096

// Load decodes an inventory from data. file names it in messages. It returns
// an ErrorList with every problem found while decoding (syntax, unknown
// fields, wrong types); on success the inventory has defaults applied but is
// not yet validated: call Validate.
func Load(file string, data []byte) (*Inventory, error) {
	inv := &Inventory{File: file}
	fail := func(line, col int, msg string) error {
		return ErrorList{{File: file, Pos: Pos{line, col}, Msg: msg}}
	}
	if len(data) > MaxSize {
		return nil, fail(0, 0, fmt.Sprintf("file is %d bytes, more than the %d an inventory may have", len(data), MaxSize))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(0, 0, "file is empty; want an Inventory document (apiVersion: meshgen/v1alpha1)")
	}
	if !utf8.Valid(data) {
		line, col := invalidUTF8At(data)
		return nil, fail(line, col, "file is not valid UTF-8")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		// Only comments and blank lines.
		return nil, fail(0, 0, "file has no YAML content, only comments; want an Inventory document (apiVersion: meshgen/v1alpha1)")
	} else if err != nil {
		return nil, syntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		return nil, fail(at.Line, at.Column, "more than one YAML document; an inventory is one document")
	}
	d := &decoder{file: file}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		// The decoder would say "must be a mapping" without a subject, or
		// for null report every top-level field missing.
		return nil, fail(root.Line, root.Column, fmt.Sprintf("the document is %s; an inventory is a mapping of apiVersion, kind, mesh, networks and clusters", kindName(root)))
	}
	inv.root = root
	d.decode(root, reflect.ValueOf(inv).Elem(), "")
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs)
	}
	inv.applyDefaults()
	return inv, nil
}

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner; see syntaxError.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
}

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// syntaxError turns a yaml.v3 parse error into a positioned Error.
func syntaxError(file string, data []byte, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			// yaml.v3 reports parser (not scanner) errors with a 0-based line:
			// the line where the unfinished construct starts.
			line++
		}
	}
	col := 0
	if line > 0 {
		col = 1
	}
	if msg == "control characters are not allowed" && line == 0 {
		// yaml.v3 gives no position for these; a NUL pasted from a binary
		// file is the usual one.
		line, col = controlCharAt(data)
		msg = "control characters (such as NUL) are not allowed in YAML"
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil && line == 0 {
		// yaml.v3 gives no position for an alias without an anchor.
		line, col = aliasAt(data, m[1])
		msg = fmt.Sprintf("alias *%s refers to no anchor &%s defined before it", m[1], m[1])
	}
	if line > 0 {
		// A tab in a line's indentation is the likeliest cause of a syntax
		// error on that line, or on the next one: for a tab after a plain
		// value yaml.v3 reports the line of the value.
		lines := bytes.Split(data, []byte("\n"))
		for l := line; l <= line+1 && l <= len(lines); l++ {
			text := lines[l-1]
			indent := len(text) - len(bytes.TrimLeft(text, " \t"))
			if i := bytes.IndexByte(text[:indent], '\t'); i >= 0 {
				line, col = l, i+1
				if !strings.Contains(msg, "tab") {
					msg += " (a tab in the indentation?)"
				}
				msg += "; indent YAML with spaces"
				break
			}
		}
	}
	return ErrorList{{File: file, Pos: Pos{line, col}, Msg: "invalid YAML: " + msg}}
}

// controlCharAt finds the first character YAML does not allow (C0 controls
// but tab, newline and carriage return; DEL; C1 controls), or returns 0, 0.
func controlCharAt(data []byte) (line, col int) {
	line, col = 1, 1
	for _, r := range string(data) {
		switch {
		case r == '\n':
			line, col = line+1, 1
			continue
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85:
			return line, col
		}
		col++
	}
	return 0, 0
}

// aliasAt finds the first use of alias *name in data, or returns 0, 0.
func aliasAt(data []byte, name string) (line, col int) {
	alias := []byte("*" + name)
	for off := 0; ; {
		i := bytes.Index(data[off:], alias)
		if i < 0 {
			return 0, 0
		}
		i += off
		end := i + len(alias)
		if end == len(data) || bytes.IndexByte([]byte(" \t\r\n,]}"), data[end]) >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
			return line, col
		}
		off = end
	}
}

func invalidUTF8At(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		if r == utf8.RuneError && n <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[n:]
	}
	return line, col
}

type decoder struct {
	file  string
	errs  ErrorList
	nodes int
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: Pos{n.Line, n.Column}, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var durationType = reflect.TypeOf(Duration{})

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	case "!!str":
		return "a string"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n, path, "document expands to more than %d values (aliases nested too deep?)", maxNodes)
		}
		return
	}
	// Errors about the value as a whole (its type) point at the alias,
	// where it is used, rather than at its anchor, which may be anywhere.
	at := n
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Type() == durationType {
		d.decodeDuration(n, at, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		nv := reflect.New(v.Type().Elem())
		d.decode(at, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, at, v, path)
	case reflect.Map:
		d.decodeMap(n, at, v, path)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(at, path, "must be a list, not %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
		v.Set(s)
	case reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!bool" {
			d.errorf(at, path, "must be a string, not %s", kindName(n))
			return
		}
		if len(n.Value) > maxScalar {
			// Before any rule quotes it, and before it is copied into
			// every file of the tree.
			d.errorf(at, path, "%d characters, more than the %d any field may have", len(n.Value), maxScalar)
			return
		}
		if kind := KeyMaterial(n.Value); kind != "" {
			// Wherever it is: no field of an inventory holds a secret.
			d.errorf(at, path, "%s", keyMaterialMsg(path, n.Value, kind))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.errorf(at, path, "must be an integer, not %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil {
			d.errorf(at, path, "integer %s out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(at, path, "must be true or false, not %s", kindName(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		panic("inventory: unsupported field type " + v.Type().String())
	}
}

func (d *decoder) decodeDuration(n, at *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(at, path, "must be a duration such as 8760h, not %s", kindName(n))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(at, path, "invalid duration %q: use Go duration syntax such as 8760h or 30m", n.Value)
		return
	}
	v.Set(reflect.ValueOf(Duration{dur}))
}

// fieldsOf maps YAML names to struct field indexes.
func fieldsOf(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

func (d *decoder) decodeStruct(n, at *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(at, path, "must be a mapping, not %s", kindName(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		kpath := key
		if path != "" {
			kpath = path + "." + key
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "field names must be strings, not %s", kindName(k))
			continue
		}
		if key == "<<" {
			d.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if first, dup := seen[key]; dup {
			d.errorf(k, kpath, "duplicate field (first set at line %d)", first.Line)
			continue
		}
		seen[key] = k
		idx, ok := fields[key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				sorted := append([]string(nil), names...)
				sort.Strings(sorted)
				msg += " (known: " + strings.Join(sorted, ", ") + ")"
			}
			d.errorf(k, path, "%s", msg)
			continue
		}
		d.decode(val, v.Field(idx), kpath)
	}
}

// decodeMap decodes a mapping with string keys (revision tags); each value
// is decoded at path.KEY, where its errors point.
func (d *decoder) decodeMap(n, at *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(at, path, "must be a mapping, not %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || k.Value == "<<" {
			d.errorf(k, path, "keys must be strings, not %s", kindName(k))
			continue
		}
		kpath := path + "." + k.Value
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, kpath, "duplicate key (first set at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, kpath)
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

// suggest returns the known name closest to key when it is a likely typo.
func suggest(key string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(n)); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// PosOf returns the position of the value at path, or of its nearest
// ancestor that was written in the file.
func (inv *Inventory) PosOf(path string) Pos {
	n := inv.nodeAt(path)
	if n == nil {
		return Pos{1, 1}
	}
	return Pos{n.Line, n.Column}
}

// Has reports whether the value at path was written in the file.
func (inv *Inventory) Has(path string) bool {
	n, exact := inv.lookup(path)
	return n != nil && exact
}

func (inv *Inventory) nodeAt(path string) *yaml.Node {
	n, _ := inv.lookup(path)
	return n
}

// lookup walks the document along a field path such as clusters[1].network
// and returns the deepest node reached, and whether it is the node of the
// whole path. Positions are found this way, on demand, rather than recorded
// for every value while decoding.
func (inv *Inventory) lookup(path string) (*yaml.Node, bool) {
	n := inv.root
	if n == nil {
		return nil, false
	}
	for path != "" {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		var next *yaml.Node
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			i, err := strconv.Atoi(path[1:end])
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return n, false
			}
			next, path = n.Content[i], path[end+1:]
		} else {
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			key := path[:end]
			path = path[end:]
			if n.Kind != yaml.MappingNode {
				return n, false
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return n, false
			}
		}
		n = next
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n, true
}

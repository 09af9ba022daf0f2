package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
)

// toYAML gives exactly the bytes of sigs.k8s.io/yaml.Marshal(obj), faster:
// sigs.k8s.io/yaml renders the object as JSON, parses that JSON again with
// its YAML library to recover number types, and emits YAML. Here the JSON is
// decoded by encoding/json into the very values that parse would give
// (integers as int, objects as map[interface{}]interface{}), and the same
// YAML library emits them. TestToYAMLMatchesSigsYAML holds the two equal.
func toYAML(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(j)
}

// yamlCache renders each distinct object once per Generate run: many
// clusters share identical objects (the cross-network Gateway, the
// HelmRepository). It lives as long as the run, so a long-lived process
// does not accumulate every object it ever rendered. The zero value is
// ready; safe for concurrent use.
type yamlCache struct{ m sync.Map } // JSON of an object -> its YAML

func (c *yamlCache) toYAML(obj any) ([]byte, error) {
	if c == nil {
		return toYAML(obj)
	}
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if v, ok := c.m.Load(string(j)); ok {
		return v.([]byte), nil
	}
	out, err := jsonToYAML(j)
	if err == nil {
		c.m.Store(string(j), out)
	}
	return out, err
}

func jsonToYAML(j []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	conv, err := yamlValue(v)
	if err != nil {
		return nil, err
	}
	return yamlv2.Marshal(conv)
}

func yamlValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[interface{}]interface{}, len(v))
		for k, x := range v {
			c, err := yamlValue(x)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case []any:
		out := make([]interface{}, len(v))
		for i, x := range v {
			c, err := yamlValue(x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			if int64(int(i)) == i {
				return int(i), nil
			}
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", v, err)
		}
		return f, nil
	case string, bool, nil:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected JSON value %T", v)
}

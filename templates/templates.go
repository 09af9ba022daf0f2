// Package templates holds the constant parts of the objects meshgen emits, as
// YAML documents. The generator parses each into a typed value and fills the
// inventory's values in through typed setters; nothing is ever substituted
// into YAML text, so no inventory value can break or inject YAML.
package templates

import "embed"

// FS holds every template, by file name.
//
//go:embed *.yaml
var FS embed.FS

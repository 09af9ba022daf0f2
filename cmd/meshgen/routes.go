package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/topology"
)

// maxKnownShown bounds the known values a usage error lists.
const maxKnownShown = 10

func (c *cli) routes(args []string) int {
	var inv, from, host, format string
	fs := c.flagSet("routes", "Print the routes of the mesh: for each exported service port and each calling cluster, the endpoints its workloads reach (pods directly, or through an east-west gateway), with mTLS, or that exportTo denies it.",
		`  meshgen routes -i inventory.yaml
  meshgen routes -i inventory.yaml --from us-1 --host payments.shop
  meshgen routes -i inventory.yaml --format json | jq -r '.[] | select(.denied) | "\(.from) \(.host):\(.port)"'
`)
	fs.StringVarP(&inv, "inventory", "i", "inventory.yaml", "inventory file")
	fs.StringVar(&from, "from", "", "only the routes of this calling cluster")
	fs.StringVar(&host, "host", "", "only the routes of this service: its host as callers use it, or <name>.<namespace>")
	fs.StringVar(&format, "format", "text", "output format: text (an aligned table) or json (a list of routes, for tools)")
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if !c.knownFormat(fs, format) || !c.noOperands(fs) {
		return exitBad
	}
	// routes encrypts nothing, so the test-only recipients refused
	// elsewhere do no harm here.
	c.allowTestKeys = true
	in, ok := c.loadInventory(inv)
	if !ok {
		return exitBad
	}
	clusters, hosts := map[string]bool{}, map[string]bool{}
	for _, cl := range in.Clusters {
		clusters[cl.Name] = true
	}
	if from != "" && !clusters[from] {
		c.errorf("routes: unknown --from %q (known: %s)", from, knownList(clusters, nil))
		return exitBad
	}
	m := topology.New(in)
	if host != "" {
		for _, s := range m.Services() {
			hosts[s.ID], hosts[s.Host] = true, true
		}
		if !hosts[host] {
			// Name the hosts callers use, not both spellings of each.
			c.errorf("routes: unknown --host %q (known: %s)", host, knownList(hosts, func(h string) bool { return strings.Count(h, ".") > 1 }))
			return exitBad
		}
	}
	// A large fleet has a million routes: they are streamed, not held.
	shown := func(yield func(topology.Route) bool) {
		for r := range m.Routes() {
			if (from == "" || r.From == from) && (host == "" || r.Host == host || r.Service == host) && !yield(r) {
				return
			}
		}
	}
	out := bufio.NewWriterSize(c.stdout, 64*1024)
	var err error
	if format == "json" {
		err = writeRoutesJSON(out, shown)
	} else if !writeRoutesText(out, shown) {
		c.errorf("%s exports no services: there are no routes", inv)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		c.errorf("routes: %v", err)
		return exitBad
	}
	if in.Mesh.Ambient() {
		// The ambient routes hold only for Services labelled global,
		// which meshgen does not write: say which, where.
		for _, s := range m.Services() {
			if host == "" || s.Host == host || s.ID == host {
				c.hintf("ambient: label Service %s/%s %s=true in %s (istiod shares only global Services)", s.Namespace, s.Name, generator.GlobalServiceLabel, strings.Join(s.Exporters, ", "))
			}
		}
	}
	return exitOK
}

// writeRoutesJSON writes the routes as one JSON list, element by element,
// in the layout of a json.Encoder indenting by two spaces.
func writeRoutesJSON(w *bufio.Writer, routes iter.Seq[topology.Route]) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	n := 0
	for r := range routes {
		if n == 0 {
			w.WriteString("[\n")
		} else {
			w.WriteString(",\n")
		}
		n++
		buf.Reset()
		if err := enc.Encode(r); err != nil {
			return err
		}
		w.WriteString("  ")
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if n == 0 {
		_, err := w.WriteString("[]\n")
		return err
	}
	_, err := w.WriteString("\n]\n")
	return err
}

// writeRoutesText writes the routes as an aligned table: one pass for the
// column widths, one to write. It returns false when there are none.
func writeRoutesText(w *bufio.Writer, routes iter.Seq[topology.Route]) bool {
	header := [5]string{"FROM", "HOST:PORT", "PROTOCOL", "ENDPOINTS", "MTLS"}
	var width [4]int
	for i := range width {
		width[i] = utf8.RuneCountInString(header[i])
	}
	cells := func(r topology.Route) [5]string {
		return [5]string{r.From, generator.HostPort(r), r.Protocol, generator.EndpointsText(r), generator.MTLSText(r)}
	}
	any := false
	for r := range routes {
		any = true
		cs := cells(r)
		for i, cell := range cs[:4] {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	if !any {
		return false
	}
	line := func(cs [5]string) {
		for i, cell := range cs[:4] {
			w.WriteString(cell)
			w.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell)+2))
		}
		w.WriteString(cs[4])
		w.WriteByte('\n')
	}
	line(header)
	for r := range routes {
		line(cells(r))
	}
	return true
}

// knownList names the keys of a set that keep passes (all when keep is
// nil), sorted, at most maxKnownShown of them.
func knownList(set map[string]bool, keep func(string) bool) string {
	var names []string
	for n := range set {
		if keep == nil || keep(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	if len(names) > maxKnownShown {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxKnownShown], ", "), len(names)-maxKnownShown)
	}
	return strings.Join(names, ", ")
}

package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/topology"
)

// routeFormats are the values of routes --format.
var routeFormats = []string{"text", "json"}

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
	if !slices.Contains(routeFormats, format) {
		c.errorf("routes: unknown --format %q (want %s)", format, strings.Join(routeFormats, " or "))
		return exitBad
	}
	if fs.NArg() > 0 {
		c.errorf("routes: unexpected argument %q", fs.Arg(0))
		return exitBad
	}
	in, ok := c.loadInventory(inv)
	if !ok {
		return exitBad
	}
	routes := topology.Routes(in)
	clusters, hosts := map[string]bool{}, map[string]bool{}
	for _, cl := range in.Clusters {
		clusters[cl.Name] = true
	}
	for _, r := range routes {
		hosts[r.Host], hosts[r.Service] = true, true
	}
	if from != "" && !clusters[from] {
		c.errorf("routes: unknown --from %q (known: %s)", from, knownList(clusters, nil))
		return exitBad
	}
	if host != "" && !hosts[host] {
		// Name the hosts callers use, not both spellings of each.
		c.errorf("routes: unknown --host %q (known: %s)", host, knownList(hosts, func(h string) bool { return strings.Count(h, ".") > 1 }))
		return exitBad
	}
	shown := routes[:0:0]
	for _, r := range routes {
		if (from == "" || r.From == from) && (host == "" || r.Host == host || r.Service == host) {
			shown = append(shown, r)
		}
	}
	if format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if shown == nil {
			shown = []topology.Route{}
		}
		if err := enc.Encode(shown); err != nil {
			c.errorf("routes: %v", err)
			return exitBad
		}
		return exitOK
	}
	if len(shown) == 0 {
		c.errorf("%s exports no services: there are no routes", inv)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tHOST:PORT\tPROTOCOL\tENDPOINTS\tMTLS")
	for _, r := range shown {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.From, generator.HostPort(r), r.Protocol, generator.EndpointsText(r), generator.MTLSText(r))
	}
	if err := tw.Flush(); err != nil {
		c.errorf("routes: %v", err)
		return exitBad
	}
	return exitOK
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

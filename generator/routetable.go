package generator

import (
	"bufio"
	"bytes"
	"fmt"
	"iter"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// The route table of MESH.md is the one place routes are written down in a
// generated tree: reviewers read it in pull requests, and `meshgen diff`
// reads the prior tree's table back to say which routes change
// (docs/design-decisions.md). So it is written to be parsed back without
// loss: ParseRouteTable(the table of Routes(inv)) is Routes(inv).

// routesHeading starts the route table's section of MESH.md.
const routesHeading = "## Routes"

// routeTableHeader is the header of the route table, in MESH.md.
const routeTableHeader = "| from | host:port | protocol | endpoints | mTLS |\n|---|---|---|---|---|\n"

// Cell texts of the route table; the CLI's text table uses the same words.
const (
	DeniedText = "denied (exportTo)" // the endpoints of a denied route
	NoneText   = "none"              // an allowed route without endpoint
)

// maxDeniedNamed is how many denied callers of one host and port the table
// names; beyond, it counts them ("190 other clusters"): one name per
// cluster and service would make a large fleet's page mostly names.
const maxDeniedNamed = 5

// EndpointText is one endpoint as tables write it: "eu-1 pods" for pods
// reached directly, "us-1 via 203.0.113.30:15443" through a gateway.
//
// With the ambient data plane the text ends in " (HBONE)": "eu-1 pods
// (HBONE)", "us-1 via 203.0.113.30:15008 (HBONE)".
func EndpointText(e topology.Endpoint) string {
	text := e.Cluster + " pods"
	if e.Gateway {
		text = e.Cluster + " via " + net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port)))
	}
	if e.Transport != "" {
		text += " (" + e.Transport + ")"
	}
	return text
}

// EndpointsText is a route's endpoints cell: DeniedText, NoneText, or the
// endpoints separated by ", ".
func EndpointsText(r topology.Route) string {
	if r.Denied {
		return DeniedText
	}
	if len(r.Endpoints) == 0 {
		return NoneText
	}
	parts := make([]string, len(r.Endpoints))
	for i, e := range r.Endpoints {
		parts[i] = EndpointText(e)
	}
	return strings.Join(parts, ", ")
}

// MTLSText is a route's mTLS cell: yes, no, or — for a denied route.
func MTLSText(r topology.Route) string {
	switch {
	case r.Denied:
		return "—"
	case r.MTLS:
		return "yes"
	}
	return "no"
}

// HostPort is a route's host:port.
func HostPort(r topology.Route) string {
	return r.Host + ":" + strconv.FormatUint(uint64(r.Port), 10)
}

// writeRouteTable writes MESH.md's route section: one row per allowed
// route, in the order of topology.Routes, and after the allowed rows of a
// host and port one row for its denied callers.
func writeRouteTable(b *strings.Builder, routes iter.Seq[topology.Route]) {
	b.WriteString("\n" + routesHeading + "\n\n")
	var (
		any        bool
		group      topology.Route // the host and port being written
		deniedFrom []string       // its denied callers so far
	)
	flush := func() {
		if len(deniedFrom) == 0 {
			return
		}
		from := strings.Join(deniedFrom, ", ")
		if len(deniedFrom) > maxDeniedNamed {
			from = fmt.Sprintf("%d other clusters", len(deniedFrom))
		}
		row(b, from, HostPort(group), group.Protocol, DeniedText, "—")
		deniedFrom = deniedFrom[:0]
	}
	for r := range routes {
		if !any {
			any = true
			b.WriteString("What the workloads of each cluster get when they call each port of each exported service: ")
			b.WriteString("the serving clusters' pods directly, or through a cluster's east-west gateway. ")
			b.WriteString("`meshgen routes` prints the same table; `meshgen diff` summarises its changes.")
			if len(r.Endpoints) > 0 && r.Endpoints[0].Transport == topology.HBONE {
				b.WriteString(" (HBONE): the ambient data plane, where the caller's ztunnel tunnels to port 15008 of the pods, ")
				b.WriteString("or of the serving network's east-west gateway, which tunnels on to the pods.")
			}
			b.WriteString("\n\n")
			b.WriteString(routeTableHeader)
		} else if r.Service != group.Service || r.Port != group.Port {
			flush()
		}
		group = r
		if r.Denied {
			deniedFrom = append(deniedFrom, r.From)
			continue
		}
		writeRouteRow(b, r)
	}
	flush()
	if !any {
		b.WriteString("None.\n")
	}
}

// routeTableSize estimates the bytes of the route table, so that a large
// fleet's MESH.md is written into one buffer instead of doubling one.
func routeTableSize(inv *inventory.Inventory) int {
	const perRow = 100
	n := 0
	for i := range inv.Services {
		s := &inv.Services[i]
		callers := len(inv.Clusters)
		if s.ExportTo != nil {
			callers = len(s.ExportTo) + len(s.Clusters) + 1
		}
		n += len(s.Ports) * callers * perRow
	}
	return n
}

// writeRouteRow is row(b, r.From, HostPort(r), r.Protocol,
// EndpointsText(r), MTLSText(r)) for an allowed route, without the strings
// in between: a large fleet has 50,000 such rows. Every value is a
// validated name, address or protocol, with nothing to escape.
func writeRouteRow(b *strings.Builder, r topology.Route) {
	var num [10]byte
	b.WriteString("| ")
	b.WriteString(r.From)
	b.WriteString(" | ")
	b.WriteString(r.Host)
	b.WriteByte(':')
	b.Write(strconv.AppendUint(num[:0], uint64(r.Port), 10))
	b.WriteString(" | ")
	b.WriteString(r.Protocol)
	b.WriteString(" | ")
	if len(r.Endpoints) == 0 {
		b.WriteString(NoneText)
	}
	for i, e := range r.Endpoints {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Cluster)
		if !e.Gateway {
			b.WriteString(" pods")
		} else {
			b.WriteString(" via ")
			if strings.IndexByte(e.Address, ':') >= 0 { // IPv6, as net.JoinHostPort
				b.WriteByte('[')
				b.WriteString(e.Address)
				b.WriteByte(']')
			} else {
				b.WriteString(e.Address)
			}
			b.WriteByte(':')
			b.Write(strconv.AppendUint(num[:0], uint64(e.Port), 10))
		}
		if e.Transport != "" {
			b.WriteString(" (")
			b.WriteString(e.Transport)
			b.WriteByte(')')
		}
	}
	b.WriteString(" | ")
	b.WriteString(MTLSText(r))
	b.WriteString(" |\n")
}

// ParseRouteTable reads the routes back from a MESH.md that meshgen wrote.
// found is false when the page has no route section (a MESH.md written
// before meshgen kept one). The routes come sorted as topology.Routes sorts
// them. Any row it does not understand is an error with its line number: the
// file is meshgen's own, so a surprise means it was edited by hand.
func ParseRouteTable(md []byte) (routes []topology.Route, found bool, err error) {
	page, err := readRoutePage(md)
	if err != nil {
		return nil, page.found, err
	}
	for _, key := range page.keys {
		rs, err := page.routes(key)
		if err != nil {
			return nil, true, err
		}
		routes = append(routes, rs...)
	}
	if !sort.SliceIsSorted(routes, func(i, j int) bool { return routeLess(routes[i], routes[j]) }) {
		sortRoutes(routes) // rows reordered by hand
	}
	return routes, page.found, nil
}

// routePage is the route table of a MESH.md, split into the rows of each
// host and port, not yet parsed.
type routePage struct {
	found    bool
	clusters []string              // the page's cluster table
	keys     []string              // <name>.<namespace>:port, in the page's order
	groups   map[string]routeGroup // by <name>.<namespace>:port
}

// routeGroup is the rows of one host and port, with their line numbers.
type routeGroup struct {
	rows  []string
	lines []int
}

func readRoutePage(md []byte) (*routePage, error) {
	page := &routePage{groups: map[string]routeGroup{}}
	section, group, n := "", "", 0
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			page.found = page.found || line == routesHeading
			continue
		}
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		switch section {
		case "## Clusters":
			if c, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |"); c != "cluster" {
				page.clusters = append(page.clusters, c)
			}
		case routesHeading:
			cells := splitRow(line)
			if len(cells) != 5 {
				return page, fmt.Errorf("%s:%d: a route row has 5 cells, this one %d", MeshMDPath, n, len(cells))
			}
			if cells[0] == "from" && cells[1] == "host:port" {
				continue // the header
			}
			// Rows are grouped by service and port, not host:port: a change
			// of discovery mode changes every host, and is one change per
			// route, not a removal and an addition.
			key := groupKey(cells[1])
			g, seen := page.groups[key]
			if seen && key != group {
				return page, fmt.Errorf("%s:%d: the rows of %s are not together", MeshMDPath, n, cells[1])
			}
			if !seen {
				page.keys = append(page.keys, key)
			}
			group = key
			g.rows, g.lines = append(g.rows, line), append(g.lines, n)
			page.groups[key] = g
		}
	}
	if err := sc.Err(); err != nil {
		return page, fmt.Errorf("%s: %v", MeshMDPath, err)
	}
	return page, nil
}

// groupKey is <name>.<namespace>:port of a host:port cell; a cell that is
// not host:port is its own key (parsing its rows reports it).
func groupKey(hostPort string) string {
	i := strings.LastIndexByte(hostPort, ':')
	if i < 0 {
		return hostPort
	}
	labels := strings.SplitN(hostPort[:i], ".", 3)
	if len(labels) < 3 {
		return hostPort
	}
	return labels[0] + "." + labels[1] + hostPort[i:]
}

// routes parses the rows of one host and port (none when the page has no
// such rows), sorted by caller.
func (p *routePage) routes(key string) ([]topology.Route, error) {
	g := p.groups[key]
	callers := map[string]bool{}
	var out []topology.Route
	for i, line := range g.rows {
		n := g.lines[i]
		cells := splitRow(line)
		r, err := parseRouteCells(cells)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", MeshMDPath, n, err)
		}
		from := []string{cells[0]}
		if r.Denied {
			if c, ok := strings.CutSuffix(cells[0], " other clusters"); ok {
				count, err := strconv.Atoi(c)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %q is neither cluster names nor a count of other clusters", MeshMDPath, n, cells[0])
				}
				from = from[:0]
				for _, cl := range p.clusters {
					if !callers[cl] {
						from = append(from, cl)
					}
				}
				if len(from) != count {
					return nil, fmt.Errorf("%s:%d: %d other clusters are denied, but the page lists %d", MeshMDPath, n, count, len(from))
				}
			} else {
				from = strings.Split(cells[0], ", ")
			}
		}
		for _, c := range from {
			if callers[c] {
				return nil, fmt.Errorf("%s:%d: a second route from %s to %s", MeshMDPath, n, c, cells[1])
			}
			callers[c] = true
			r.From = c
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out, nil
}

// splitRow splits a Markdown table row written by row into its cells.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |")
	return strings.Split(line, " | ")
}

// parseRouteCells reads the host:port, protocol, endpoints and mTLS cells
// of a route row.
func parseRouteCells(cells []string) (topology.Route, error) {
	var r topology.Route
	i := strings.LastIndexByte(cells[1], ':')
	if i < 0 {
		return r, fmt.Errorf("%q is not host:port", cells[1])
	}
	r.Host = cells[1][:i]
	port, err := strconv.ParseUint(cells[1][i+1:], 10, 32)
	if err != nil {
		return r, fmt.Errorf("%q is not host:port", cells[1])
	}
	r.Port = uint32(port)
	labels := strings.SplitN(r.Host, ".", 3)
	if len(labels) < 3 {
		return r, fmt.Errorf("host %q is not <name>.<namespace>.<domain>", r.Host)
	}
	r.Service = labels[0] + "." + labels[1]
	r.Protocol = cells[2]
	switch cells[3] {
	case DeniedText:
		r.Denied = true
		return r, nil
	case NoneText:
	default:
		for _, text := range strings.Split(cells[3], ", ") {
			e, err := parseEndpoint(text)
			if err != nil {
				return r, err
			}
			r.Endpoints = append(r.Endpoints, e)
		}
	}
	switch cells[4] {
	case "yes":
		r.MTLS = true
	case "no":
	default:
		return r, fmt.Errorf("mTLS %q is neither yes nor no", cells[4])
	}
	return r, nil
}

// parseEndpoint reads what EndpointText writes.
func parseEndpoint(text string) (topology.Endpoint, error) {
	body, transport := text, ""
	if b, ok := strings.CutSuffix(text, " ("+topology.HBONE+")"); ok {
		body, transport = b, topology.HBONE
	}
	if c, ok := strings.CutSuffix(body, " pods"); ok && !strings.Contains(c, " ") {
		return topology.Endpoint{Cluster: c, Transport: transport}, nil
	}
	c, hp, ok := strings.Cut(body, " via ")
	if ok && !strings.Contains(c, " ") {
		host, port, err := net.SplitHostPort(hp)
		if p, perr := strconv.ParseUint(port, 10, 32); err == nil && perr == nil {
			return topology.Endpoint{Cluster: c, Gateway: true, Address: host, Port: uint32(p), Transport: transport}, nil
		}
	}
	return topology.Endpoint{}, fmt.Errorf("endpoint %q is neither \"CLUSTER pods\" nor \"CLUSTER via ADDRESS:PORT\"", text)
}

// sortRoutes sorts routes as topology.Routes does: by Service, Port, From.
func sortRoutes(rs []topology.Route) {
	sort.Slice(rs, func(i, j int) bool { return routeLess(rs[i], rs[j]) })
}

// routeCompare orders routes as topology.Routes does.
func routeCompare(a, b *topology.Route) int {
	if c := strings.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	if a.Port != b.Port {
		if a.Port < b.Port {
			return -1
		}
		return 1
	}
	return strings.Compare(a.From, b.From)
}

func routeLess(a, b topology.Route) bool { return routeCompare(&a, &b) < 0 }

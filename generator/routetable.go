package generator

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

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
func EndpointText(e topology.Endpoint) string {
	if !e.Gateway {
		return e.Cluster + " pods"
	}
	return e.Cluster + " via " + net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port)))
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
func writeRouteTable(b *strings.Builder, routes []topology.Route) {
	b.WriteString("\n" + routesHeading + "\n\n")
	if len(routes) == 0 {
		b.WriteString("None.\n")
		return
	}
	b.WriteString("What the workloads of each cluster get when they call each port of each exported service: ")
	b.WriteString("the serving clusters' pods directly, or through a cluster's east-west gateway. ")
	b.WriteString("`meshgen routes` prints the same table; `meshgen diff` summarises its changes.\n\n")
	b.WriteString(routeTableHeader)
	for i := 0; i < len(routes); {
		j := i
		for j < len(routes) && routes[j].Service == routes[i].Service && routes[j].Port == routes[i].Port {
			j++
		}
		var deniedFrom []string
		for _, r := range routes[i:j] {
			if r.Denied {
				deniedFrom = append(deniedFrom, r.From)
				continue
			}
			row(b, r.From, HostPort(r), r.Protocol, EndpointsText(r), MTLSText(r))
		}
		if len(deniedFrom) > 0 {
			from := strings.Join(deniedFrom, ", ")
			if len(deniedFrom) > maxDeniedNamed {
				from = fmt.Sprintf("%d other clusters", len(deniedFrom))
			}
			r := routes[i]
			row(b, from, HostPort(r), r.Protocol, DeniedText, "—")
		}
		i = j
	}
}

// ParseRouteTable reads the routes back from a MESH.md that meshgen wrote.
// found is false when the page has no route section (a MESH.md written
// before meshgen kept one). The routes come sorted as topology.Routes sorts
// them. Any row it does not understand is an error with its line number: the
// file is meshgen's own, so a surprise means it was edited by hand.
func ParseRouteTable(md []byte) (routes []topology.Route, found bool, err error) {
	var clusters []string
	section := ""
	n := 0
	type key struct {
		service string
		port    uint32
	}
	listed := map[key]map[string]bool{}
	type deniedRow struct {
		line  int
		proto topology.Route // host, port, protocol
		from  []string       // nil: count other clusters
		count int
	}
	var denied []deniedRow
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			if line == routesHeading {
				found = true
			}
			continue
		}
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := splitRow(line)
		switch section {
		case "## Clusters":
			if len(cells) > 0 && cells[0] != "cluster" {
				clusters = append(clusters, cells[0])
			}
		case routesHeading:
			if len(cells) == 5 && cells[0] == "from" && cells[1] == "host:port" {
				continue // the header
			}
			if len(cells) != 5 {
				return nil, found, fmt.Errorf("%s:%d: a route row has 5 cells, this one %d", MeshMDPath, n, len(cells))
			}
			r, err := parseRouteCells(cells)
			if err != nil {
				return nil, found, fmt.Errorf("%s:%d: %v", MeshMDPath, n, err)
			}
			k := key{r.Service, r.Port}
			if listed[k] == nil {
				listed[k] = map[string]bool{}
			}
			if cells[3] == DeniedText {
				d := deniedRow{line: n, proto: r}
				if c, ok := strings.CutSuffix(cells[0], " other clusters"); ok {
					if d.count, err = strconv.Atoi(c); err != nil {
						return nil, found, fmt.Errorf("%s:%d: %q is neither cluster names nor a count of other clusters", MeshMDPath, n, cells[0])
					}
				} else {
					d.from = strings.Split(cells[0], ", ")
				}
				denied = append(denied, d)
				continue
			}
			r.From = cells[0]
			if listed[k][r.From] {
				return nil, found, fmt.Errorf("%s:%d: a second route from %s to %s", MeshMDPath, n, r.From, cells[1])
			}
			listed[k][r.From] = true
			routes = append(routes, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, found, fmt.Errorf("%s: %v", MeshMDPath, err)
	}
	for _, d := range denied {
		k := key{d.proto.Service, d.proto.Port}
		from := d.from
		if from == nil {
			for _, c := range clusters {
				if !listed[k][c] {
					from = append(from, c)
				}
			}
			if len(from) != d.count {
				return nil, found, fmt.Errorf("%s:%d: %d other clusters are denied, but the page lists %d", MeshMDPath, d.line, d.count, len(from))
			}
		}
		for _, c := range from {
			if listed[k][c] {
				return nil, found, fmt.Errorf("%s:%d: a second route from %s to %s", MeshMDPath, d.line, c, HostPort(d.proto))
			}
			listed[k][c] = true
			r := d.proto
			r.From, r.Denied, r.MTLS, r.Endpoints = c, true, false, nil
			routes = append(routes, r)
		}
	}
	sortRoutes(routes)
	return routes, found, nil
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
	if c, ok := strings.CutSuffix(text, " pods"); ok && !strings.Contains(c, " ") {
		return topology.Endpoint{Cluster: c}, nil
	}
	c, hp, ok := strings.Cut(text, " via ")
	if ok && !strings.Contains(c, " ") {
		host, port, err := net.SplitHostPort(hp)
		if p, perr := strconv.ParseUint(port, 10, 32); err == nil && perr == nil {
			return topology.Endpoint{Cluster: c, Gateway: true, Address: host, Port: uint32(p)}, nil
		}
	}
	return topology.Endpoint{}, fmt.Errorf("endpoint %q is neither \"CLUSTER pods\" nor \"CLUSTER via ADDRESS:PORT\"", text)
}

// sortRoutes sorts routes as topology.Routes does: by Service, Port, From.
func sortRoutes(rs []topology.Route) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.From < b.From
	})
}

// RouteChange is one route that differs between two trees, for `meshgen
// diff`. Its JSON field names are a stable interface.
type RouteChange struct {
	Service string `json:"service"`
	Port    uint32 `json:"port"`
	From    string `json:"from"`
	// Change says what changed, as the text summary writes it after
	// "from CLUSTER: ": added, removed, now denied, now via ...
	Change string `json:"change"`
	// Before and After are the route in the prior and the new tree; one is
	// absent when the route is added or removed.
	Before *topology.Route `json:"before,omitempty"`
	After  *topology.Route `json:"after,omitempty"`
}

// String is the summary line: "payments.shop:9090 from us-1: now denied".
func (c RouteChange) String() string {
	return fmt.Sprintf("%s:%d from %s: %s", c.Service, c.Port, c.From, c.Change)
}

// CompareRoutes lists the routes that differ between before and after
// (each sorted as topology.Routes sorts), in that order. A denied route
// that appears or disappears with its service or cluster is no change for
// anyone and is left out (MESH.md's diff still shows it); a route that
// turns denied, or stops being, is one.
func CompareRoutes(before, after []topology.Route) []RouteChange {
	type key struct {
		service string
		port    uint32
		from    string
	}
	old := make(map[key]*topology.Route, len(before))
	for i := range before {
		r := &before[i]
		old[key{r.Service, r.Port, r.From}] = r
	}
	var out []RouteChange
	for i := range after {
		a := &after[i]
		k := key{a.Service, a.Port, a.From}
		b, ok := old[k]
		delete(old, k)
		if ok && routesEqual(*b, *a) || !ok && a.Denied {
			continue
		}
		ch := RouteChange{Service: a.Service, Port: a.Port, From: a.From, Before: b, After: a}
		if !ok {
			ch.Change = "added: " + EndpointsText(*a)
		} else {
			ch.Change = describeChange(*b, *a)
		}
		out = append(out, ch)
	}
	for _, b := range old {
		if b.Denied {
			continue
		}
		out = append(out, RouteChange{Service: b.Service, Port: b.Port, From: b.From, Change: "removed", Before: b})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.From < b.From
	})
	return out
}

func routesEqual(a, b topology.Route) bool {
	if a.From != b.From || a.Service != b.Service || a.Host != b.Host || a.Port != b.Port ||
		a.Protocol != b.Protocol || a.Denied != b.Denied || a.MTLS != b.MTLS || len(a.Endpoints) != len(b.Endpoints) {
		return false
	}
	for i := range a.Endpoints {
		if a.Endpoints[i] != b.Endpoints[i] {
			return false
		}
	}
	return true
}

// describeChange says how a route that exists in both trees changed.
func describeChange(before, after topology.Route) string {
	switch {
	case after.Denied && !before.Denied:
		return "now denied"
	case before.Denied && !after.Denied:
		return "now allowed: " + EndpointsText(after)
	}
	var parts []string
	if before.Host != after.Host {
		parts = append(parts, "host now "+after.Host)
	}
	if before.Protocol != after.Protocol {
		parts = append(parts, "protocol now "+after.Protocol)
	}
	if before.MTLS != after.MTLS {
		parts = append(parts, "mTLS now "+map[bool]string{true: "on", false: "off"}[after.MTLS])
	}
	old := map[string]topology.Endpoint{}
	for _, e := range before.Endpoints {
		old[e.Cluster] = e
	}
	for _, e := range after.Endpoints {
		o, ok := old[e.Cluster]
		delete(old, e.Cluster)
		if ok && o == e {
			continue
		}
		if e.Gateway {
			parts = append(parts, fmt.Sprintf("now via %s east-west gateway (%s)", e.Cluster, net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port)))))
		} else {
			parts = append(parts, "now to "+e.Cluster+" pods directly")
		}
	}
	var gone []string
	for c := range old {
		gone = append(gone, c)
	}
	sort.Strings(gone)
	for _, c := range gone {
		parts = append(parts, "no longer to "+c)
	}
	return strings.Join(parts, "; ")
}

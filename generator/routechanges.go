package generator

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/generator/topology"
)

// CompareRouteTables is CompareRoutes of the route tables of two MESH.md
// pages. It parses only the rows of the hosts and ports whose rows differ:
// a large fleet's table holds a million routes, and a change touches few.
// found is false when before has no route table.
func CompareRouteTables(before, after []byte) (changes []RouteChange, found bool, err error) {
	old, err := readRoutePage(before)
	if err != nil || !old.found {
		return nil, old.found, err
	}
	cur, err := readRoutePage(after)
	if err != nil {
		return nil, true, err
	}
	keys := append([]string(nil), old.keys...)
	for _, k := range cur.keys {
		if _, ok := old.groups[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if slices.Equal(old.groups[k].rows, cur.groups[k].rows) {
			continue
		}
		b, err := old.routes(k)
		if err != nil {
			return nil, true, err
		}
		a, err := cur.routes(k)
		if err != nil {
			return nil, true, err
		}
		changes = append(changes, CompareRoutes(b, a)...)
	}
	sort.SliceStable(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.From < b.From
	})
	return changes, true, nil
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
	var out []RouteChange
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		c := 0
		switch {
		case i == len(before):
			c = 1
		case j == len(after):
			c = -1
		default:
			c = routeCompare(&before[i], &after[j])
		}
		switch {
		case c < 0: // only before
			b := &before[i]
			i++
			if !b.Denied {
				out = append(out, RouteChange{Service: b.Service, Port: b.Port, From: b.From, Change: "removed", Before: b})
			}
		case c > 0: // only after
			a := &after[j]
			j++
			if !a.Denied {
				out = append(out, RouteChange{Service: a.Service, Port: a.Port, From: a.From, Change: "added: " + EndpointsText(*a), After: a})
			}
		default:
			b, a := &before[i], &after[j]
			i, j = i+1, j+1
			if !routesEqual(*b, *a) {
				out = append(out, RouteChange{Service: a.Service, Port: a.Port, From: a.From, Change: describeChange(*b, *a), Before: b, After: a})
			}
		}
	}
	return out
}

func routesEqual(a, b topology.Route) bool {
	return a.From == b.From && a.Service == b.Service && a.Host == b.Host && a.Port == b.Port &&
		a.Protocol == b.Protocol && a.Denied == b.Denied && a.MTLS == b.MTLS && slices.Equal(a.Endpoints, b.Endpoints)
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
		over := ""
		if e.Transport != "" { // ambient: a data plane switch changes every hop
			over = " over " + e.Transport
		}
		if e.Gateway {
			parts = append(parts, fmt.Sprintf("now via %s east-west gateway (%s)%s", e.Cluster, net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port))), over))
		} else {
			parts = append(parts, "now to "+e.Cluster+" pods directly"+over)
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

package generator

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// meshMDHeader is Header in Markdown: an HTML comment renders as nothing,
// and IsGenerated finds the marker on the first line all the same.
const meshMDHeader = "<!-- " + Marker + " -->\n"

// The diagram is for people, and renderers give up on large ones (GitHub's
// Mermaid stops at 50,000 characters): beyond these sizes it shows networks
// instead of clusters, and beyond the network limits it is left out. The
// tables always carry every detail.
const (
	maxDiagramClusters = 40  // cluster nodes
	maxDiagramEdges    = 100 // consumer → exporter edges
	maxDiagramNetworks = 40  // network nodes of the overview
	maxEdgeHosts       = 3   // hosts named on one edge
)

// meshMD renders MESH.md from the inventory, the service addresses of the
// ServiceEntries and each cluster's intermediate certificate.
func (g *gen) meshMD(byCluster map[string][]*ServiceEntry, intermediates map[string]time.Time) []byte {
	vips := map[string]string{}
	for _, ses := range byCluster {
		for _, se := range ses {
			if len(se.Spec.Addresses) > 0 && len(se.Spec.Hosts) > 0 {
				vips[se.Spec.Hosts[0]] = se.Spec.Addresses[0]
			}
		}
	}
	expiry := map[string]time.Time{}
	for name, t := range intermediates {
		expiry[name] = t.UTC()
	}
	return renderMeshMD(g.inv, g.topo, vips, expiry)
}

// meshEdge is one consumer → exporter edge: the hosts the consumer reaches
// in the exporter.
type meshEdge struct {
	from, to string
	hosts    []string
}

// serviceEdges returns every consumer → exporter pair with the hosts it
// carries, sorted: the ServiceEntries' view, where a consumer that runs the
// service itself uses its local copy.
func serviceEdges(topo *topology.Mesh) []meshEdge {
	type pair struct{ from, to string }
	hosts := map[pair][]string{}
	for _, s := range topo.Services() {
		host := s.Host
		for _, consumer := range topo.Consumers(s) {
			for _, exporter := range s.Exporters {
				p := pair{consumer, exporter}
				hosts[p] = append(hosts[p], host)
			}
		}
	}
	edges := make([]meshEdge, 0, len(hosts))
	for p, hs := range hosts {
		sort.Strings(hs)
		edges = append(edges, meshEdge{from: p.from, to: p.to, hosts: hs})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].from != edges[j].from {
			return edges[i].from < edges[j].from
		}
		return edges[i].to < edges[j].to
	})
	return edges
}

// renderMeshMD is MESH.md: sorted and free of timestamps other than the
// certificates' expiry dates, so that it changes exactly when the mesh does.
func renderMeshMD(inv *inventory.Inventory, topo *topology.Mesh, vips map[string]string, expiry map[string]time.Time) []byte {
	var b strings.Builder
	b.Grow(routeTableSize(inv))
	b.WriteString(meshMDHeader)
	m := inv.Mesh
	fmt.Fprintf(&b, "# Mesh %s\n\n", m.ID)
	fmt.Fprintf(&b, "Trust domain `%s`, %s", m.TrustDomain, revisionsText(m.Istio))
	dataplane := ""
	if m.Ambient() {
		dataplane = " (ambient data plane)"
	}
	fmt.Fprintf(&b, " installed with %s%s, discovery by %s. %d %s on %d %s, %d exported %s.\n\n",
		m.Istio.Installer, dataplane, m.Discovery,
		len(inv.Clusters), plural(len(inv.Clusters), "cluster", "clusters"),
		len(inv.UsedNetworks()), plural(len(inv.UsedNetworks()), "network", "networks"),
		len(inv.Services), plural(len(inv.Services), "service", "services"))
	b.WriteString("This page is generated from the inventory by meshgen, for reviewers: ")
	b.WriteString("a change to it in a pull request is a change to the mesh.\n\n")

	clusters := make([]*inventory.Cluster, len(inv.Clusters))
	for i := range inv.Clusters {
		clusters[i] = &inv.Clusters[i]
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
	edges := serviceEdges(topo)

	b.WriteString("## Topology\n\n")
	if len(clusters) <= maxDiagramClusters && len(edges) <= maxDiagramEdges {
		writeClusterDiagram(&b, inv, clusters, edges)
	} else {
		writeNetworkDiagram(&b, inv, clusters, edges)
	}

	b.WriteString("## Clusters\n\n")
	b.WriteString("| cluster | network | role | primary | locality | east-west gateway | intermediate CA expires |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range clusters {
		exp := "—"
		if t, ok := expiry[c.Name]; ok {
			exp = t.Format(time.DateOnly)
		}
		row(&b, c.Name, c.Network, c.Role, orDash(c.Primary), orDash(localityOf(c)), orDash(gatewayOf(c)), exp)
	}

	b.WriteString("\n## Networks\n\n")
	b.WriteString("| network | clusters | primaries | remotes |\n|---|---|---|---|\n")
	for _, n := range sortedNetworks(inv) {
		var names []string
		primaries, remotes := 0, 0
		for _, c := range clusters {
			if c.Network != n {
				continue
			}
			names = append(names, c.Name)
			if c.Role == inventory.RoleRemote {
				remotes++
			} else {
				primaries++
			}
		}
		row(&b, n, orDash(strings.Join(names, ", ")), fmt.Sprint(primaries), fmt.Sprint(remotes))
	}

	b.WriteString("\n## Exported services\n\n")
	if len(inv.Services) == 0 {
		b.WriteString("None.\n")
		writeRouteTable(&b, topology.AllRoutes(inv))
		return []byte(b.String())
	}
	withVIP := m.AddressPool != "" && topo.Discovery == topology.ServiceEntries
	if withVIP {
		b.WriteString("| host | VIP | ports | runs in | exported to |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| host | ports | runs in | exported to |\n|---|---|---|---|\n")
	}
	services := append([]*topology.Service(nil), topo.Services()...)
	sort.Slice(services, func(i, j int) bool { return services[i].Host < services[j].Host })
	for _, s := range services {
		host := s.Host
		cells := []string{host}
		if withVIP {
			cells = append(cells, orDash(vips[host]))
		}
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s %d/%s", p.Name, p.Port, p.Protocol))
		}
		cells = append(cells, strings.Join(ports, ", "), strings.Join(s.Exporters, ", "), exportedTo(s.Service))
		row(&b, cells...)
	}
	if topo.Ambient {
		writeGlobalServices(&b, services)
	}
	writeRouteTable(&b, topology.AllRoutes(inv))
	return []byte(b.String())
}

// writeGlobalServices lists, for the ambient data plane, the Services that
// must carry the istio.io/global=true label, and where: meshgen does not
// own application Services, and istiod shares a Service with the other
// clusters only when it is labelled (meshConfig.serviceScopeConfigs).
func writeGlobalServices(b *strings.Builder, services []*topology.Service) {
	b.WriteString("\n## Global services\n\n")
	b.WriteString("With the ambient data plane, istiod shares a Service with the other clusters only when the Service carries the label `")
	b.WriteString(GlobalServiceLabel + "=true`")
	b.WriteString(" (meshConfig.serviceScopeConfigs, for the namespaces below only). meshgen does not write application Services: ")
	b.WriteString("label each in every cluster it runs in, e.g. `kubectl label service NAME -n NAMESPACE " + GlobalServiceLabel + "=true`.\n\n")
	b.WriteString("| Service | label in clusters |\n|---|---|\n")
	for _, s := range services {
		row(b, s.Namespace+"/"+s.Name, strings.Join(s.Exporters, ", "))
	}
}

// writeClusterDiagram draws one subgraph per network, one node per cluster,
// remotes' dotted edges to their primaries and consumer → exporter edges.
func writeClusterDiagram(b *strings.Builder, inv *inventory.Inventory, clusters []*inventory.Cluster, edges []meshEdge) {
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, n := range inv.UsedNetworks() {
		fmt.Fprintf(b, "  subgraph %s[\"%s\"]\n", mermaidID("net", n), mermaidText(n))
		for _, c := range clusters {
			if c.Network != n {
				continue
			}
			label := c.Name + "<br/>" + c.Role
			if gw := gatewayOf(c); gw != "" {
				label += "<br/>east-west " + gw
			}
			fmt.Fprintf(b, "    %s[\"%s\"]\n", mermaidID("c", c.Name), mermaidText(label))
		}
		b.WriteString("  end\n")
	}
	for _, c := range clusters {
		if c.Role == inventory.RoleRemote {
			fmt.Fprintf(b, "  %s -. istiod .-> %s\n", mermaidID("c", c.Name), mermaidID("c", c.Primary))
		}
	}
	for _, e := range edges {
		fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", mermaidID("c", e.from), mermaidText(edgeLabel(e.hosts)), mermaidID("c", e.to))
	}
	b.WriteString("```\n\n")
	b.WriteString("Boxes are networks. A solid arrow goes from a cluster to a cluster whose exported services it calls, ")
	b.WriteString("through that cluster's east-west gateway; a dotted arrow from a remote cluster to the primary whose istiod it uses.\n\n")
}

// writeNetworkDiagram draws the overview of a fleet too large for one node
// per cluster: one node per network, edges between networks.
func writeNetworkDiagram(b *strings.Builder, inv *inventory.Inventory, clusters []*inventory.Cluster, edges []meshEdge) {
	fmt.Fprintf(b, "The mesh has %d clusters and %d consumer → exporter pairs, more than a readable diagram holds (%d clusters, %d pairs)",
		len(clusters), len(edges), maxDiagramClusters, maxDiagramEdges)
	networks := inv.UsedNetworks()
	netOf := map[string]string{}
	for _, c := range clusters {
		netOf[c.Name] = c.Network
	}
	type pair struct{ from, to string }
	hosts := map[pair]map[string]bool{}
	for _, e := range edges {
		p := pair{netOf[e.from], netOf[e.to]}
		if p.from == p.to {
			continue
		}
		if hosts[p] == nil {
			hosts[p] = map[string]bool{}
		}
		for _, h := range e.hosts {
			hosts[p][h] = true
		}
	}
	remotes := map[pair]int{}
	for _, c := range clusters {
		if c.Role == inventory.RoleRemote {
			if p := (pair{c.Network, netOf[c.Primary]}); p.from != p.to {
				remotes[p]++
			}
		}
	}
	if len(networks) > maxDiagramNetworks || len(hosts)+len(remotes) > maxDiagramEdges {
		b.WriteString(", and too many networks for an overview: see the tables below.\n\n")
		return
	}
	b.WriteString(": the diagram shows networks, the tables below every cluster and service.\n\n")
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, n := range networks {
		p, r := 0, 0
		for _, c := range clusters {
			if c.Network == n {
				if c.Role == inventory.RoleRemote {
					r++
				} else {
					p++
				}
			}
		}
		label := fmt.Sprintf("%s<br/>%d %s, %d %s", n, p, plural(p, "primary", "primaries"), r, plural(r, "remote", "remotes"))
		fmt.Fprintf(b, "  %s[\"%s\"]\n", mermaidID("net", n), mermaidText(label))
	}
	var rps []pair
	for p := range remotes {
		rps = append(rps, p)
	}
	sort.Slice(rps, func(i, j int) bool { return rps[i].from+"\x00"+rps[i].to < rps[j].from+"\x00"+rps[j].to })
	for _, p := range rps {
		fmt.Fprintf(b, "  %s -. \"istiod (%d %s)\" .-> %s\n", mermaidID("net", p.from), remotes[p], plural(remotes[p], "remote", "remotes"), mermaidID("net", p.to))
	}
	var sps []pair
	for p := range hosts {
		sps = append(sps, p)
	}
	sort.Slice(sps, func(i, j int) bool { return sps[i].from+"\x00"+sps[i].to < sps[j].from+"\x00"+sps[j].to })
	for _, p := range sps {
		hs := sortedKeys(hosts[p])
		fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", mermaidID("net", p.from), mermaidText(edgeLabel(hs)), mermaidID("net", p.to))
	}
	b.WriteString("```\n\n")
	b.WriteString("Nodes are networks. A solid arrow goes from a network to a network whose exported services its clusters call; ")
	b.WriteString("a dotted arrow from a network with remote clusters to the network of their primaries.\n\n")
}

// edgeLabel names the hosts of an edge, at most maxEdgeHosts of them, with
// their count when there are several.
func edgeLabel(hosts []string) string {
	if len(hosts) == 1 {
		return hosts[0]
	}
	parts := []string{fmt.Sprintf("%d services", len(hosts))}
	for i, h := range hosts {
		if i == maxEdgeHosts {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, h)
	}
	return strings.Join(parts, "<br/>")
}

// mermaidID makes a node or subgraph ID of a DNS label: '-' becomes '_'
// (labels have no '_', so IDs stay distinct), and the kind prefix keeps
// IDs off Mermaid's keywords (end, graph, ...).
func mermaidID(kind, name string) string {
	return kind + "_" + strings.ReplaceAll(name, "-", "_")
}

// mermaidText makes text safe inside a quoted Mermaid label. Inventory
// values are DNS names and addresses; this is defence in depth.
func mermaidText(s string) string { return labelEscaper.Replace(s) }

var labelEscaper = strings.NewReplacer(`"`, "#quot;", "\n", " ")

var cellEscaper = strings.NewReplacer("|", `\|`, "\n", " ")

// row writes one Markdown table row.
func row(b *strings.Builder, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" ")
		b.WriteString(cellEscaper.Replace(c))
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func localityOf(c *inventory.Cluster) string {
	l := c.Locality
	if l == nil {
		return ""
	}
	if l.Zone == "" {
		return l.Region
	}
	return l.Region + "/" + l.Zone
}

func gatewayOf(c *inventory.Cluster) string {
	gw := c.EastWestGateway
	if gw == nil {
		return ""
	}
	return net.JoinHostPort(gw.Address, strconv.Itoa(gw.Port))
}

// exportedTo lists the clusters that reach a service through a gateway.
func exportedTo(s *inventory.Service) string {
	if s.ExportTo == nil {
		return "all other clusters"
	}
	var out []string
	for _, c := range sortedCopy(s.ExportTo) {
		if !slices.Contains(s.Clusters, c) {
			out = append(out, c)
		}
	}
	return orDash(strings.Join(out, ", "))
}

// sortedNetworks lists the declared networks, sorted.
func sortedNetworks(inv *inventory.Inventory) []string {
	var out []string
	for _, n := range inv.Networks {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

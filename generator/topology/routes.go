// Package topology answers, once, the questions every renderer of a mesh asks
// of the inventory: who calls what, and how the call travels. It is pure: it
// reads an inventory and returns values, no YAML and no disk.
package topology

import (
	"sort"

	"github.com/meshgen/meshgen/generator/inventory"
)

// Route is what one cluster gets when its workloads call one port of one exported service.
type Route struct {
	From      string     `json:"from"`    // the calling cluster
	Service   string     `json:"service"` // <name>.<namespace>
	Host      string     `json:"host"`    // the host callers use: <name>.<ns>.svc.cluster.local (discovery remote-secrets) or <name>.<ns>.<serviceSuffix> (service-entries)
	Port      uint32     `json:"port"`
	Protocol  string     `json:"protocol"`
	Denied    bool       `json:"denied,omitempty"`    // outside exportTo: the caller gets no endpoint at all
	MTLS      bool       `json:"mtls"`                // every endpoint is reached with Istio mTLS
	Endpoints []Endpoint `json:"endpoints,omitempty"` // sorted by Cluster
}

// Endpoint is one serving cluster's share of a route.
type Endpoint struct {
	Cluster string `json:"cluster"`           // the cluster whose pods serve the call
	Gateway bool   `json:"gateway,omitempty"` // reached through Cluster's east-west gateway; false: the pods directly
	Address string `json:"address,omitempty"` // the gateway's address (inventory eastWestGateway.address), when Gateway
	Port    uint32 `json:"port,omitempty"`    // the gateway's port (15443 unless the inventory says otherwise), when Gateway
}

// discoveryRemoteSecrets is the inventory's name of Istio's endpoint
// discovery; the other mode is service-entries.
const discoveryRemoteSecrets = "remote-secrets"

// Routes returns one Route per exported service, port and cluster of the mesh (every cluster,
// including the exporters themselves and denied ones), sorted by Service, Port, From.
//
// The routes are meshgen's promise, not a reading of the generated objects:
// the route oracle (sim/) checks that Istio's control plane computes the same
// from the generated tree.
func Routes(inv *inventory.Inventory) []Route {
	clusters := sortedClusters(inv)
	byName := make(map[string]*inventory.Cluster, len(clusters))
	for _, c := range clusters {
		byName[c.Name] = c
	}
	services := sortedServices(inv)
	n := 0
	for _, s := range services {
		n += len(s.Ports) * len(clusters)
	}
	out := make([]Route, 0, n)
	for _, s := range services {
		out = appendServiceRoutes(out, inv, clusters, exportersOf(byName, s), s)
	}
	return out
}

// appendServiceRoutes appends the routes of one service, sorted by Port, From.
func appendServiceRoutes(out []Route, inv *inventory.Inventory, clusters, exporters []*inventory.Cluster, s *inventory.Service) []Route {
	host := hostOf(inv, s)
	service := s.Name + "." + s.Namespace
	ports := sortedPorts(s)
	runsIn := setOf(s.Clusters)
	for _, p := range ports {
		for _, c := range clusters {
			r := Route{From: c.Name, Service: service, Host: host, Port: uint32(p.Port), Protocol: p.Protocol}
			if !mayCall(s, runsIn, c.Name) {
				r.Denied = true
				out = append(out, r)
				continue
			}
			r.MTLS = true // meshgen's promise: Istio mTLS on every hop
			r.Endpoints = endpoints(inv, c, exporters)
			out = append(out, r)
		}
	}
	return out
}

// mayCall reports whether a cluster may call a service: it runs the service,
// or the service has no exportTo, or the cluster is in it.
func mayCall(s *inventory.Service, runsIn map[string]bool, cluster string) bool {
	if runsIn[cluster] || s.ExportTo == nil {
		return true
	}
	for _, c := range s.ExportTo {
		if c == cluster {
			return true
		}
	}
	return false
}

// endpoints are what a caller that may call a service gets, one per exporter,
// sorted by cluster (exporters are sorted). An exporter on another network
// without an east-west gateway serves no caller outside its network: Istio
// drops endpoints it has no gateway to.
func endpoints(inv *inventory.Inventory, caller *inventory.Cluster, exporters []*inventory.Cluster) []Endpoint {
	out := make([]Endpoint, 0, len(exporters))
	for _, e := range exporters {
		if e.Name == caller.Name || (discoveryOf(inv) == discoveryRemoteSecrets && e.Network == caller.Network) {
			out = append(out, Endpoint{Cluster: e.Name})
			continue
		}
		if gw := e.EastWestGateway; gw != nil {
			out = append(out, Endpoint{Cluster: e.Name, Gateway: true, Address: gw.Address, Port: gatewayPort(gw)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hostOf is the host callers use in the inventory's discovery mode.
func hostOf(inv *inventory.Inventory, s *inventory.Service) string {
	if discoveryOf(inv) == discoveryRemoteSecrets {
		return s.Name + "." + s.Namespace + ".svc.cluster.local"
	}
	suffix := inv.Mesh.ServiceSuffix
	if suffix == "" {
		suffix = inventory.DefaultServiceSuffix
	}
	return s.Host(suffix)
}

func discoveryOf(inv *inventory.Inventory) string {
	if d := inv.Mesh.Discovery; d != "" {
		return d
	}
	return inventory.DefaultDiscovery
}

func gatewayPort(gw *inventory.EastWestGateway) uint32 {
	if gw.Port == 0 {
		return inventory.DefaultGatewayPort
	}
	return uint32(gw.Port)
}

// exportersOf lists the clusters a service runs in that the inventory
// declares, sorted by name.
func exportersOf(byName map[string]*inventory.Cluster, s *inventory.Service) []*inventory.Cluster {
	var out []*inventory.Cluster
	for _, name := range s.Clusters {
		if c, ok := byName[name]; ok {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedClusters(inv *inventory.Inventory) []*inventory.Cluster {
	out := make([]*inventory.Cluster, len(inv.Clusters))
	for i := range inv.Clusters {
		out[i] = &inv.Clusters[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// sortedServices orders services by <name>.<namespace>, the Route.Service
// they become.
func sortedServices(inv *inventory.Inventory) []*inventory.Service {
	out := make([]*inventory.Service, len(inv.Services))
	for i := range inv.Services {
		out[i] = &inv.Services[i]
	}
	key := func(s *inventory.Service) string { return s.Name + "." + s.Namespace }
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func sortedPorts(s *inventory.Service) []inventory.Port {
	out := append([]inventory.Port(nil), s.Ports...)
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

func setOf(names []string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

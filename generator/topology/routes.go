package topology

import (
	"iter"
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
	n := 0
	for i := range inv.Services {
		n += len(inv.Services[i].Ports) * len(inv.Clusters)
	}
	out := make([]Route, 0, n)
	for r := range AllRoutes(inv) {
		out = append(out, r)
	}
	return out
}

// AllRoutes yields the routes of Routes one by one, in the same order,
// without holding them: a large fleet has a million (200 clusters, 5,000
// services), most of them denied, and MESH.md needs each only once.
func AllRoutes(inv *inventory.Inventory) iter.Seq[Route] {
	return func(yield func(Route) bool) {
		clusters := sortedClusters(inv)
		index := make(map[string]int, len(clusters))
		for i, c := range clusters {
			index[c.Name] = i
		}
		allowed := make([]bool, len(clusters)) // by index, for one service
		for _, s := range sortedServices(inv) {
			mayCall(s, index, allowed)
			if !serviceRoutes(inv, clusters, exportersOf(clusters, index, s), allowed, s, yield) {
				return
			}
		}
	}
}

// serviceRoutes yields the routes of one service, sorted by Port, From; it
// returns false when yield asks to stop. allowed tells, by cluster index,
// who may call the service.
func serviceRoutes(inv *inventory.Inventory, clusters, exporters []*inventory.Cluster, allowed []bool, s *inventory.Service, yield func(Route) bool) bool {
	host := hostOf(inv, s)
	service := s.Name + "." + s.Namespace
	for _, p := range sortedPorts(s) {
		for i, c := range clusters {
			r := Route{From: c.Name, Service: service, Host: host, Port: uint32(p.Port), Protocol: p.Protocol}
			if allowed[i] {
				r.MTLS = true // meshgen's promise: Istio mTLS on every hop
				r.Endpoints = endpoints(inv, c, exporters)
			} else {
				r.Denied = true
			}
			if !yield(r) {
				return false
			}
		}
	}
	return true
}

// mayCall sets allowed[i] when the cluster of index i may call a service:
// it runs the service, or the service has no exportTo, or the cluster is in
// it.
func mayCall(s *inventory.Service, index map[string]int, allowed []bool) {
	open := s.ExportTo == nil
	for i := range allowed {
		allowed[i] = open
	}
	if open {
		return
	}
	for _, lists := range [][]string{s.Clusters, s.ExportTo} {
		for _, name := range lists {
			if i, ok := index[name]; ok {
				allowed[i] = true
			}
		}
	}
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
// declares, sorted by name (clusters is).
func exportersOf(clusters []*inventory.Cluster, index map[string]int, s *inventory.Service) []*inventory.Cluster {
	var at []int
	for _, name := range s.Clusters {
		if i, ok := index[name]; ok {
			at = append(at, i)
		}
	}
	sort.Ints(at)
	out := make([]*inventory.Cluster, len(at))
	for k, i := range at {
		out[k] = clusters[i]
	}
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

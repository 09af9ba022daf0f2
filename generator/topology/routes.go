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
	Port    uint32 `json:"port,omitempty"`    // the gateway's port (inventory eastWestGateway.port: 15443 by default, 15008 with HBONE), when Gateway
	// Transport is how the caller's proxy carries the call: "" for the
	// sidecar data plane (Envoy mTLS to the pods, or TLS with the
	// service's SNI to a gateway's AUTO_PASSTHROUGH port), HBONE for the
	// ambient data plane: the caller's ztunnel opens an HBONE tunnel
	// (mTLS, HTTP CONNECT) to port 15008 of the serving pods directly, or,
	// on another network, to the exporter network's east-west gateway on
	// 15008, which carries it on inside a second tunnel (double HBONE).
	Transport string `json:"transport,omitempty"`
}

// HBONE is the Transport of the ambient data plane's endpoints.
const HBONE = "HBONE"

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
	return New(inv).Routes()
}

// Routes yields the mesh's routes, sorted by Service, Port, From. Who may
// call a service is Service.MayCall, and how each caller reaches each
// exporter is Serving: the same answers the renderers write the tree from.
func (m *Mesh) Routes() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		services := append([]*Service(nil), m.services...)
		sort.SliceStable(services, func(i, j int) bool { return services[i].ID < services[j].ID })
		for _, s := range services {
			for _, p := range sortedPorts(s.Service) {
				for _, c := range m.sorted {
					r := Route{From: c.Name, Service: s.ID, Host: s.Host, Port: uint32(p.Port), Protocol: p.Protocol}
					if s.MayCall(c.Name) {
						r.MTLS = true // meshgen's promise: Istio mTLS on every hop
						r.Endpoints = m.endpoints(s, c.Name)
					} else {
						r.Denied = true
					}
					if !yield(r) {
						return
					}
				}
			}
		}
	}
}

// endpoints turns the hops Serving lists into route endpoints, sorted by
// cluster; nil when there are none.
func (m *Mesh) endpoints(s *Service, from string) []Endpoint {
	hops := m.Serving(s, from)
	if len(hops) == 0 {
		return nil
	}
	out := make([]Endpoint, 0, len(hops))
	for _, h := range hops {
		e := Endpoint{Cluster: h.Cluster}
		if h.Gateway {
			gw := m.byName[h.Cluster].EastWestGateway
			e.Gateway, e.Address, e.Port = true, gw.Address, uint32(gw.Port)
		}
		if m.Ambient {
			e.Transport = HBONE
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

func sortedPorts(s *inventory.Service) []inventory.Port {
	out := append([]inventory.Port(nil), s.Ports...)
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// Package topology answers, once, the questions every renderer asks about a
// mesh: who may call which exported service, and how each call is routed.
package topology

import (
	"sort"

	"github.com/meshgen/meshgen/generator/inventory"
)

// Route is what one cluster gets when its workloads call one port of one
// exported service.
type Route struct {
	From      string     `json:"from"`                // the calling cluster
	Service   string     `json:"service"`             // <name>.<namespace>
	Host      string     `json:"host"`                // the host callers use
	Port      uint32     `json:"port"`                // the service port
	Protocol  string     `json:"protocol"`            // the port's protocol
	Denied    bool       `json:"denied,omitempty"`    // outside exportTo: no endpoint at all
	MTLS      bool       `json:"mtls"`                // every endpoint is reached with Istio mTLS
	Endpoints []Endpoint `json:"endpoints,omitempty"` // sorted by Cluster
}

// Endpoint is one serving cluster's share of a route.
type Endpoint struct {
	Cluster string `json:"cluster"`           // the cluster whose pods serve the call
	Gateway bool   `json:"gateway,omitempty"` // through Cluster's east-west gateway; false: the pods directly
	Address string `json:"address,omitempty"` // the gateway's address, when Gateway
	Port    uint32 `json:"port,omitempty"`    // the gateway's port, when Gateway
}

// Routes returns one Route per exported service, port and cluster of the
// mesh, sorted by Service, Port, From.
func Routes(inv *inventory.Inventory) []Route {
	byName := map[string]*inventory.Cluster{}
	for i := range inv.Clusters {
		byName[inv.Clusters[i].Name] = &inv.Clusters[i]
	}
	var out []Route
	for _, s := range inv.Services {
		runs := set(s.Clusters)
		exportTo := set(s.ExportTo)
		host := s.Name + "." + s.Namespace + ".svc.cluster.local"
		if inv.Mesh.Discovery == "service-entries" {
			host = s.Name + "." + s.Namespace + "." + inv.Mesh.ServiceSuffix
		}
		for _, p := range s.Ports {
			for _, c := range inv.Clusters {
				r := Route{From: c.Name, Service: s.Name + "." + s.Namespace, Host: host, Port: uint32(p.Port), Protocol: p.Protocol}
				mayCall := runs[c.Name] || len(s.ExportTo) == 0 || exportTo[c.Name]
				if !mayCall {
					r.Denied = true
					out = append(out, r)
					continue
				}
				for _, e := range s.Clusters {
					if e == c.Name {
						r.Endpoints = append(r.Endpoints, Endpoint{Cluster: e})
						continue
					}
					if len(s.ExportTo) > 0 && !exportTo[c.Name] {
						continue
					}
					ec := byName[e]
					direct := inv.Mesh.Discovery != "service-entries" && ec.Network == c.Network
					if direct || ec.EastWestGateway == nil {
						r.Endpoints = append(r.Endpoints, Endpoint{Cluster: e})
						continue
					}
					r.Endpoints = append(r.Endpoints, Endpoint{Cluster: e, Gateway: true, Address: ec.EastWestGateway.Address, Port: uint32(ec.EastWestGateway.Port)})
				}
				sort.Slice(r.Endpoints, func(i, j int) bool { return r.Endpoints[i].Cluster < r.Endpoints[j].Cluster })
				r.MTLS = true
				out = append(out, r)
			}
		}
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

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

package topology

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
)

// The discovery modes of mesh.discovery.
const (
	// RemoteSecrets is Istio's endpoint discovery: every istiod watches the
	// API servers of the clusters whose endpoints it needs; the same name
	// and namespace is the same service everywhere.
	RemoteSecrets = "remote-secrets"
	// ServiceEntries carries exported endpoints in ServiceEntries: no
	// istiod reads another cluster's API server except its remotes'.
	ServiceEntries = "service-entries"
)

// Mesh is the topology of one validated inventory.
type Mesh struct {
	// Discovery is mesh.discovery (Load applies its default).
	Discovery string
	// Suffix is the service-entries host suffix, mesh.serviceSuffix.
	Suffix string
	// Ambient is mesh.dataplane ambient: ztunnels carry the traffic over
	// HBONE, and exported services are Istio's global services.
	Ambient  bool
	inv      *inventory.Inventory
	clusters []*Cluster // inventory order
	sorted   []*Cluster // by name
	byName   map[string]*Cluster
	services []*Service // inventory order
	global   []string   // GlobalNamespaces
}

// Cluster is one cluster and its place in the mesh.
type Cluster struct {
	*inventory.Cluster
	// Istiod is the cluster whose istiod serves this one: itself for a
	// primary, its primary for a remote. It is also the cluster's config
	// cluster: istiod reads Istio config only from its own API server, so
	// every Istio object that serves this cluster's workloads lives there.
	Istiod string
	// Served lists, for a cluster that runs istiod, the clusters its
	// istiod serves: itself first, then its remotes by name. Nil for a
	// remote.
	Served []string
	// Watches lists, for a cluster that runs istiod, the clusters whose
	// API servers its istiod reads through remote secrets, by name.
	Watches []string
	// WatchedBy lists the clusters whose istiod reads this cluster's API
	// server, by name.
	WatchedBy []string
	// Recipients are the age recipients of the cluster's secrets (its
	// cacerts, the remote secrets its istiod reads): the cluster's own and
	// the operators', sorted, without duplicates.
	Recipients []string
}

// RunsIstiod reports whether an istiod runs in the cluster.
func (c *Cluster) RunsIstiod() bool { return c.Istiod == c.Name }

// NeedsCacerts reports whether the cluster gets an intermediate CA: only an
// istiod signs workload certificates, and a remote's workloads are signed
// by its primary's istiod.
func (c *Cluster) NeedsCacerts() bool { return c.RunsIstiod() }

// Remotes lists the remotes a primary's istiod serves, by name.
func (c *Cluster) Remotes() []string {
	if len(c.Served) < 2 {
		return nil
	}
	return c.Served[1:]
}

// Service is an exported service and who may reach it.
type Service struct {
	*inventory.Service
	// Index is the service's position in the inventory's services list,
	// for messages.
	Index int
	// ID is <name>.<namespace>.
	ID string
	// Host is the name callers use: <name>.<namespace>.svc.cluster.local
	// with remote-secrets, <name>.<namespace>.<serviceSuffix> with
	// service-entries.
	Host string
	// Exporters are the clusters the service runs in, by name.
	Exporters []string
	runs      map[string]bool
	exportTo  map[string]bool // nil (exportTo omitted or empty): every cluster
}

// Runs reports whether the service runs in cluster.
func (s *Service) Runs(cluster string) bool { return s.runs[cluster] }

// MayCall reports whether cluster may call the service: it runs it, the
// service has no exportTo, or the cluster is in it. A cluster that may not
// call the service gets no endpoint of it.
func (s *Service) MayCall(cluster string) bool {
	return s.runs[cluster] || s.exportTo == nil || s.exportTo[cluster]
}

// New computes the topology of a validated inventory.
func New(inv *inventory.Inventory) *Mesh {
	m := &Mesh{
		Discovery: inv.Mesh.Discovery,
		Suffix:    inv.Mesh.ServiceSuffix,
		Ambient:   inv.Mesh.Ambient(),
		inv:       inv,
		byName:    make(map[string]*Cluster, len(inv.Clusters)),
	}
	for i := range inv.Clusters {
		ic := &inv.Clusters[i]
		c := &Cluster{Cluster: ic, Istiod: ic.Name}
		c.Recipients = append(append([]string(nil), ic.Recipients...), inv.Mesh.Recipients...)
		slices.Sort(c.Recipients)
		c.Recipients = slices.Compact(c.Recipients)
		if ic.Role == inventory.RoleRemote {
			c.Istiod = ic.Primary
		}
		m.clusters = append(m.clusters, c)
		m.byName[c.Name] = c
	}
	for _, c := range m.clusters {
		if c.RunsIstiod() {
			c.Served = []string{c.Name}
		}
	}
	m.sorted = append([]*Cluster(nil), m.clusters...)
	sort.Slice(m.sorted, func(i, j int) bool { return m.sorted[i].Name < m.sorted[j].Name })
	for _, c := range m.sorted {
		if !c.RunsIstiod() {
			if p := m.byName[c.Istiod]; p != nil {
				p.Served = append(p.Served, c.Name)
			}
		}
	}
	m.watch()
	for i := range inv.Services {
		m.services = append(m.services, m.newService(i))
		m.global = append(m.global, inv.Services[i].Namespace)
	}
	slices.Sort(m.global)
	m.global = slices.Compact(m.global)
	return m
}

// watch decides whose API server each istiod reads. An istiod always
// watches its remotes: it is their control plane. With remote-secrets it
// also watches every other cluster, whose endpoints its proxies may call.
func (m *Mesh) watch() {
	for _, p := range m.clusters {
		if !p.RunsIstiod() {
			continue
		}
		set := map[string]bool{}
		for _, r := range p.Remotes() {
			set[r] = true
		}
		if m.Discovery == RemoteSecrets {
			for _, c := range m.clusters {
				if c.Name != p.Name {
					set[c.Name] = true
				}
			}
		}
		for name := range set {
			p.Watches = append(p.Watches, name)
			m.byName[name].WatchedBy = append(m.byName[name].WatchedBy, p.Name)
		}
		sort.Strings(p.Watches)
	}
	for _, c := range m.clusters {
		sort.Strings(c.WatchedBy)
	}
}

func (m *Mesh) newService(i int) *Service {
	is := &m.inv.Services[i]
	s := &Service{Service: is, Index: i, ID: is.Name + "." + is.Namespace, runs: map[string]bool{}}
	if m.Discovery == RemoteSecrets {
		s.Host = is.Name + "." + is.Namespace + ".svc.cluster.local"
	} else {
		s.Host = is.Host(m.Suffix)
	}
	for _, c := range is.Clusters {
		if !s.runs[c] {
			s.runs[c] = true
			s.Exporters = append(s.Exporters, c)
		}
	}
	sort.Strings(s.Exporters)
	if len(is.ExportTo) > 0 {
		s.exportTo = map[string]bool{}
		for _, c := range is.ExportTo {
			s.exportTo[c] = true
		}
	}
	return s
}

// Clusters returns every cluster in inventory order.
func (m *Mesh) Clusters() []*Cluster { return m.clusters }

// Cluster returns the named cluster, or nil.
func (m *Mesh) Cluster(name string) *Cluster { return m.byName[name] }

// Services returns every exported service in inventory order.
func (m *Mesh) Services() []*Service { return m.services }

// Watched returns, by watched cluster, the clusters whose istiod reads its
// API server (and so holds a remote secret for it).
func (m *Mesh) Watched() map[string][]string {
	out := map[string][]string{}
	for _, c := range m.clusters {
		if len(c.WatchedBy) > 0 {
			out[c.Name] = c.WatchedBy
		}
	}
	return out
}

// Consumers lists, by name, the clusters that may call s without running
// it: the clusters that reach it in another cluster.
func (m *Mesh) Consumers(s *Service) []string {
	var out []string
	for _, c := range m.sorted {
		if !s.Runs(c.Name) && s.MayCall(c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// Hop is one exporter's share of what a caller reaches: the exporter's
// pods directly, or through its east-west gateway.
type Hop struct {
	Cluster string
	Gateway bool
}

// Serving lists, by exporter name, how a cluster's workloads reach s: its
// own pods directly when it runs s; every other exporter (only when the
// caller may call s) directly when on the caller's network with
// remote-secrets, else through that exporter's east-west gateway. Nil when
// the caller may not call s.
func (m *Mesh) Serving(s *Service, from string) []Hop {
	caller := m.byName[from]
	if caller == nil || !s.MayCall(from) {
		return nil
	}
	var out []Hop
	for _, e := range s.Exporters {
		ec := m.byName[e]
		switch {
		case e == from:
			out = append(out, Hop{Cluster: e})
		case m.Discovery == RemoteSecrets && ec.Network == caller.Network:
			out = append(out, Hop{Cluster: e})
		case ec.EastWestGateway != nil:
			out = append(out, Hop{Cluster: e, Gateway: true})
		}
	}
	return out
}

// GlobalNamespaces lists, sorted and without duplicates, the namespaces of
// the exported services: with dataplane ambient, the namespaces whose
// Services labelled istio.io/global=true every istiod makes global
// (meshConfig.serviceScopeConfigs). The slice is shared: callers must not
// modify it.
func (m *Mesh) GlobalNamespaces() []string { return m.global }

// ServedBy returns the clusters an istiod serves; nil when istiod names no
// cluster that runs one.
func (m *Mesh) ServedBy(istiod string) []string {
	if c := m.byName[istiod]; c != nil {
		return c.Served
	}
	return nil
}

// ClusterLocalHosts lists, sorted, the hosts an istiod must keep
// cluster-local (meshConfig.serviceSettings clusterLocal): with
// remote-secrets, the hosts some cluster it serves may not call. Its
// proxies then get endpoints only from their own cluster, which leaves a
// cluster outside exportTo without any. Check rejects the inventories
// where another cluster of the same istiod needs endpoints elsewhere.
func (m *Mesh) ClusterLocalHosts(istiod string) []string {
	if m.Discovery != RemoteSecrets {
		return nil
	}
	var out []string
	for _, s := range m.services {
		for _, c := range m.ServedBy(istiod) {
			if !s.MayCall(c) {
				out = append(out, s.Host)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// NeedsDestinationRule reports whether the config cluster istiod holds the
// DestinationRule of s: a cluster it serves runs s or may call it.
//
// Never with the ambient data plane: ztunnel applies no DestinationRule.
func (m *Mesh) NeedsDestinationRule(s *Service, istiod string) bool {
	if m.Ambient {
		return false
	}
	for _, c := range m.ServedBy(istiod) {
		if s.MayCall(c) {
			return true
		}
	}
	return false
}

// ServiceEntrySides is what the ServiceEntry of a service holds in one
// config cluster (service-entries mode).
type ServiceEntrySides struct {
	// Local: a cluster of this istiod runs the service; the entry's
	// endpoint is the local Kubernetes service, which each proxy resolves
	// in its own cluster (and where the east-west gateway forwards to).
	Local bool
	// Gateways are the exporters, by name, whose east-west gateways the
	// clusters of this istiod reach the service through.
	Gateways []string
}

// ServiceEntryIn returns what the ServiceEntry of s in config cluster
// istiod holds, and false when it needs none (service-entries mode only).
func (m *Mesh) ServiceEntryIn(s *Service, istiod string) (ServiceEntrySides, bool) {
	var out ServiceEntrySides
	if m.Discovery != ServiceEntries {
		return out, false
	}
	served := m.ServedBy(istiod)
	calls := false
	for _, c := range served {
		out.Local = out.Local || s.Runs(c)
		calls = calls || s.MayCall(c)
	}
	if calls {
		for _, e := range s.Exporters {
			if m.byName[e].Istiod != istiod && m.byName[e].EastWestGateway != nil {
				out.Gateways = append(out.Gateways, e)
			}
		}
	}
	return out, out.Local || len(out.Gateways) > 0
}

// KnowsGateway reports whether istiod discovers an east-west gateway on
// network: a cluster it serves sits there with one. Pilot then sends
// traffic for any endpoint labelled with that network to that gateway, so a
// ServiceEntry endpoint that is another istiod's gateway on the same
// network must not carry the label.
func (m *Mesh) KnowsGateway(istiod, network string) bool {
	for _, c := range m.ServedBy(istiod) {
		if cc := m.byName[c]; cc.Network == network && cc.EastWestGateway != nil {
			return true
		}
	}
	return false
}

// NeedsAmbientEastWestGateway reports whether cluster holds an ambient
// east-west Gateway (class istio-east-west, HBONE on 15008): with the
// ambient data plane, every cluster the inventory gives an eastWestGateway.
func (m *Mesh) NeedsAmbientEastWestGateway(cluster string) bool {
	c := m.byName[cluster]
	return m.Ambient && c != nil && c.EastWestGateway != nil
}

// NeedsCrossNetworkGateway reports whether config cluster istiod holds the
// cross-network Gateway (15443 AUTO_PASSTHROUGH) that the east-west gateways
// of every cluster it serves pick up: with remote-secrets when the mesh
// spans networks, with service-entries when the clusters it serves span
// networks or one of them runs a service that a cluster of another istiod
// calls.
//
// Never with the ambient data plane, whose east-west gateways take HBONE
// (NeedsAmbientEastWestGateway).
func (m *Mesh) NeedsCrossNetworkGateway(istiod string) bool {
	if m.Ambient {
		return false
	}
	p := m.byName[istiod]
	if p == nil || !p.RunsIstiod() || p.EastWestGateway == nil {
		return false
	}
	if m.Discovery == RemoteSecrets {
		return m.inv.MultiNetwork()
	}
	// An istiod always discovers its remotes' endpoints: when they sit on
	// other networks, its own cluster's Kubernetes services cross too.
	for _, c := range p.Served {
		if m.byName[c].Network != p.Network {
			return true
		}
	}
	for _, s := range m.services {
		runsHere := false
		for _, e := range p.Served {
			runsHere = runsHere || s.Runs(e)
		}
		if !runsHere {
			continue
		}
		if s.exportTo == nil {
			if len(p.Served) < len(m.clusters) {
				return true // every cluster may call it, and some are not this istiod's
			}
			continue
		}
		for c := range s.exportTo {
			if cc := m.byName[c]; cc != nil && cc.Istiod != istiod {
				return true
			}
		}
	}
	return false
}

// Conflict is an export rule no istiod can carry out.
type Conflict struct {
	Service *Service
	// Path is the inventory field the conflict is reported at.
	Path string
	Msg  string
}

// Conflicts lists, in service order, the export rules Istio cannot
// express. An istiod applies its config (clusterLocal hosts,
// ServiceEntries) to every cluster it serves alike, so the clusters of one
// istiod cannot differ in what they reach of a service.
func (m *Mesh) Conflicts() []Conflict {
	var out []Conflict
	for _, s := range m.services {
		for _, p := range m.clusters {
			if !p.RunsIstiod() {
				continue
			}
			if c, ok := m.conflict(s, p); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

func (m *Mesh) conflict(s *Service, p *Cluster) (Conflict, bool) {
	if len(p.Served) == 1 {
		return Conflict{}, false // one cluster cannot disagree with itself
	}
	var denied, needs []string
	for _, c := range p.Served {
		if !s.MayCall(c) {
			denied = append(denied, c)
			continue
		}
		for _, e := range s.Exporters {
			if e == c {
				continue
			}
			needs = append(needs, c)
			break
		}
	}
	istiod := func() string { return fmt.Sprintf("istiod of %s serves %s", p.Name, strings.Join(p.Served, ", ")) }
	if len(denied) > 0 && len(needs) > 0 {
		how := "keeps a host cluster-local (meshConfig.serviceSettings) per istiod, not per cluster"
		if m.Discovery == ServiceEntries {
			how = "applies the ServiceEntries of a config cluster to every cluster its istiod serves"
		}
		return Conflict{Service: s, Path: fmt.Sprintf("services[%d].exportTo", s.Index), Msg: fmt.Sprintf(
			"%s: %s may not call %s but %s must reach it in other clusters, and Istio %s; export it to all of them or to none",
			istiod(), strings.Join(denied, ", "), s.ID, strings.Join(needs, ", "), how)}, true
	}
	if m.Discovery == ServiceEntries && len(p.Served) > 1 {
		for j, e := range s.Clusters {
			if m.byName[e].Istiod != p.Name {
				continue
			}
			var others []string
			for _, c := range p.Served {
				if c != e {
					others = append(others, c)
				}
			}
			return Conflict{Service: s, Path: fmt.Sprintf("services[%d].clusters[%d]", s.Index, j), Msg: fmt.Sprintf(
				"%s: with discovery service-entries the ServiceEntry of %s in %s's config serves %s's local service, and %s reads it for %s too: they would either reach %s's pods as their own or through %s's east-west gateway, which would then forward the host to itself; export it from a primary without remotes, or use discovery remote-secrets (istiod %s discovers %s's pods itself)",
				istiod(), s.ID, p.Name, e, p.Name, strings.Join(others, ", "), e, e, p.Name, e)}, true
		}
	}
	return Conflict{}, false
}

// Check returns the conflicts of inv as positioned inventory errors, or
// nil.
func Check(inv *inventory.Inventory) error { return New(inv).Check() }

// Check returns the mesh's conflicts as positioned inventory errors, or nil.
func (m *Mesh) Check() error {
	inv := m.inv
	cs := m.Conflicts()
	if len(cs) == 0 {
		return nil
	}
	var list inventory.ErrorList
	for _, c := range cs {
		list = append(list, &inventory.Error{File: inv.File, Pos: inv.PosOf(c.Path), Path: c.Path, Msg: c.Msg})
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Pos, list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return list
}

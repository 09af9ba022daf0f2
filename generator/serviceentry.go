package generator

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"maps"
	"math/big"
	"net/netip"
	"path"
	"sort"

	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/pool"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// serviceEntriesFile is the per-cluster file of ServiceEntries. One file per
// cluster means adding a service touches only the clusters involved.
const serviceEntriesFile = "service-entries.yaml"

// serviceEntries returns, by config cluster, the ServiceEntries of every
// exported service (DESIGN §2.4, discovery service-entries): istiod reads
// them only from its own cluster, so each primary holds the entries of
// every cluster it serves. An entry's endpoints are the local Kubernetes
// service when a cluster of that istiod runs the service (each proxy, and
// the east-west gateway that receives calls from elsewhere, resolves it in
// its own cluster) and the east-west gateways of the exporters other
// istiods serve. Every endpoint is labelled for Istio mTLS: the gateway's
// SNI cluster keeps only mTLS endpoints, and sidecars under STRICT
// peer authentication accept nothing else.
func (g *gen) serviceEntries() (map[string][]*ServiceEntry, map[string][]byte, error) {
	guess := g.scanPriorVIPs()
	ses, err := g.buildServiceEntries(guess)
	if err != nil {
		return nil, nil, err
	}
	files := g.marshalServiceEntryFiles(ses)
	if prior := g.priorVIPs(ses, files); !maps.Equal(prior, guess) {
		// The scan misread a file that is not meshgen's rendering of the
		// entries just built: build again from what the files decode to.
		if ses, err = g.buildServiceEntries(prior); err != nil {
			return nil, nil, err
		}
		files = g.marshalServiceEntryFiles(ses)
	}
	return ses, files, nil
}

// buildServiceEntries builds the ServiceEntries with the addresses of prior
// kept where they are still valid.
func (g *gen) buildServiceEntries(prior map[string]string) (map[string][]*ServiceEntry, error) {
	vips, err := g.allocateVIPs(prior)
	if err != nil {
		return nil, err
	}
	out := map[string][]*ServiceEntry{}
	if g.topo.Discovery != topology.ServiceEntries {
		return out, nil
	}
	for _, s := range g.topo.Services() {
		host := s.Host
		var ports []SEPort
		for _, p := range s.Ports {
			ports = append(ports, SEPort{Number: p.Port, Name: p.Name, Protocol: p.Protocol})
		}
		sort.Slice(ports, func(i, j int) bool { return ports[i].Number < ports[j].Number })
		var addrs []string
		if v, ok := vips[host]; ok {
			addrs = []string{v}
		}
		// Config clusters with the same endpoints share one object, which
		// is marshalled once.
		shared := map[string]*ServiceEntry{}
		for _, p := range g.topo.Clusters() {
			if !p.RunsIstiod() {
				continue
			}
			sides, ok := g.topo.ServiceEntryIn(s, p.Name)
			if !ok {
				continue
			}
			local := ""
			if sides.Local {
				local = seLocality(p.Locality)
			}
			key := fmt.Sprint(sides.Local, local, sides.Gateways, g.gatewayNetworksKnown(p.Name, sides.Gateways))
			if se := shared[key]; se != nil {
				out[p.Name] = append(out[p.Name], se)
				continue
			}
			var eps []WorkloadEntry
			resolution := "STATIC"
			if sides.Local {
				resolution = "DNS"
				// The config cluster's own pods, in its locality, so that
				// locality failover prefers them (a remote's callers
				// resolve the name to their own pods, which share the
				// endpoint's locality only when the remote shares it).
				eps = append(eps, WorkloadEntry{
					Address:  s.Name + "." + s.Namespace + ".svc.cluster.local",
					Labels:   map[string]string{tlsModeLabel: "istio"},
					Locality: local,
				})
			}
			var remote []WorkloadEntry
			for _, name := range sides.Gateways {
				e := g.topo.Cluster(name)
				gw := e.EastWestGateway
				ep := WorkloadEntry{
					Address: gw.Address,
					Ports:   map[string]int{},
					Labels:  map[string]string{tlsModeLabel: "istio"},
					Network: e.Network,
				}
				if g.topo.KnowsGateway(p.Name, e.Network) {
					// Labelled, the endpoint would be replaced by the
					// gateway this istiod knows on that network, which
					// belongs to another cluster.
					ep.Network = ""
				}
				for _, p := range s.Ports {
					ep.Ports[p.Name] = gw.Port
				}
				ep.Locality = seLocality(e.Locality)
				// Istio accepts only IP addresses on STATIC endpoints.
				if !inventory.IsIP(gw.Address) {
					resolution = "DNS"
				}
				remote = append(remote, ep)
			}
			sort.Slice(remote, func(i, j int) bool { return remote[i].Address < remote[j].Address })
			se := &ServiceEntry{
				TypeMeta: TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "ServiceEntry"},
				Metadata: ObjectMeta{Name: host, Namespace: IstioNamespace},
				Spec: ServiceEntrySpec{
					Hosts: []string{host}, Addresses: addrs, Ports: ports,
					Location: "MESH_INTERNAL", Resolution: resolution, Endpoints: append(eps, remote...),
				},
			}
			shared[key] = se
			out[p.Name] = append(out[p.Name], se)
		}
	}
	for _, ses := range out {
		sort.Slice(ses, func(i, j int) bool { return ses[i].Metadata.Name < ses[j].Metadata.Name })
	}
	return out, nil
}

// seLocality is a locality as a ServiceEntry endpoint writes it:
// region/zone.
func seLocality(l *inventory.Locality) string {
	if l == nil {
		return ""
	}
	if l.Zone != "" {
		return l.Region + "/" + l.Zone
	}
	return l.Region
}

// tlsModeLabel tells Istio that an endpoint accepts Istio mTLS.
const tlsModeLabel = "security.istio.io/tlsMode"

// allocateVIPs gives every exported host one address from the pool. The
// fleet repository is the state: addresses already in the prior tree are
// kept, so adding, removing or renaming a service never moves another one.
// A new host starts probing at a hash of its name, so that even a tree
// generated from scratch mostly reproduces earlier addresses.
func (g *gen) allocateVIPs(prior map[string]string) (map[string]string, error) {
	inv := g.inv
	// Only ServiceEntries carry addresses; with remote-secrets each
	// Kubernetes Service has its own cluster IP.
	if inv.Mesh.AddressPool == "" || g.topo.Discovery != topology.ServiceEntries {
		return nil, nil
	}
	pool := netip.MustParsePrefix(inv.Mesh.AddressPool)
	hosts := map[string]bool{}
	for i := range inv.Services {
		hosts[inv.Services[i].Host(inv.Mesh.ServiceSuffix)] = true
	}
	vips := map[string]string{}
	used := map[netip.Addr]bool{}
	// In host order: when a hand-edited tree gives two hosts one address,
	// the same one keeps it on every run.
	for _, host := range sortedKeys(prior) {
		addr := prior[host]
		a, err := netip.ParseAddr(addr)
		if err != nil || !hosts[host] || !pool.Contains(a) || used[a] || !usable(pool, a) {
			continue
		}
		vips[host] = addr
		used[a] = true
	}
	var fresh []string
	for h := range hosts {
		if _, ok := vips[h]; !ok {
			fresh = append(fresh, h)
		}
	}
	sort.Strings(fresh)
	size := poolSize(pool)
	if size.Cmp(big.NewInt(int64(len(hosts)))) < 0 {
		return nil, &PoolError{Pool: inv.Mesh.AddressPool, Hosts: len(hosts), Size: size.String()}
	}
	for _, h := range fresh {
		start := new(big.Int).Mod(new(big.Int).SetUint64(hash64(h)), size)
		a := nthUsable(pool, start)
		for used[a] {
			a = a.Next()
			if !pool.Contains(a) || !usable(pool, a) {
				a = nthUsable(pool, big.NewInt(0))
			}
		}
		vips[h] = a.String()
		used[a] = true
	}
	return vips, nil
}

// PoolError reports an address pool too small for the exported hosts.
type PoolError struct {
	Pool  string
	Hosts int
	Size  string
}

func (e *PoolError) Error() string {
	return fmt.Sprintf("mesh.addressPool %s has %s usable addresses, fewer than the %d exported hosts", e.Pool, e.Size, e.Hosts)
}

// usable excludes a pool's first and last address (network and broadcast
// in IPv4 pools of /30 and wider).
func usable(pool netip.Prefix, a netip.Addr) bool {
	if pool.Bits() >= pool.Addr().BitLen()-1 {
		return true
	}
	first := pool.Masked().Addr()
	return a != first && a != lastAddr(pool)
}

func lastAddr(pool netip.Prefix) netip.Addr {
	b := pool.Masked().Addr().AsSlice()
	for i := pool.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func poolSize(pool netip.Prefix) *big.Int {
	n := new(big.Int).Lsh(big.NewInt(1), uint(pool.Addr().BitLen()-pool.Bits()))
	if pool.Bits() < pool.Addr().BitLen()-1 {
		n.Sub(n, big.NewInt(2))
	}
	return n
}

// nthUsable returns the n-th usable address of the pool, counting from 0.
func nthUsable(pool netip.Prefix, n *big.Int) netip.Addr {
	base := new(big.Int).SetBytes(pool.Masked().Addr().AsSlice())
	if pool.Bits() < pool.Addr().BitLen()-1 {
		base.Add(base, big.NewInt(1))
	}
	base.Add(base, n)
	b := base.FillBytes(make([]byte, pool.Addr().BitLen()/8))
	a, _ := netip.AddrFromSlice(b)
	return a
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Prior addresses are read back from the prior tree's ServiceEntries, so
// that a host keeps its address. Decoding tens of megabytes of YAML takes
// ten times as long as the rest of a no-op regenerate (docs/performance.md),
// so it is done only where nothing else proves what a file holds:
//
//  1. scanPriorVIPs guesses the addresses with a line scan of the layout
//     meshgen writes;
//  2. the entries are built from the guess;
//  3. priorVIPs reads each prior file: one that is byte for byte the
//     rendering of the entries just built for its cluster holds exactly
//     their hosts and addresses; any other is decoded as YAML.
//
// When that differs from the guess, the entries are built again from it.
// So what a file's bytes decode to decides, never its indentation: a file
// in another layout costs a decode, not a wrong address.

// priorServiceEntryFiles are the prior tree's ServiceEntry files, in path
// order.
func (g *gen) priorServiceEntryFiles() []string {
	var files []string
	for _, p := range sortedKeys(g.opts.Prior) {
		if path.Base(p) == serviceEntriesFile {
			files = append(files, p)
		}
	}
	return files
}

// hostAddress is one host and its address, as a prior file holds them.
type hostAddress struct{ host, addr string }

// firstAddress merges each file's host addresses: the first entry (files
// in path order) that names a host wins, whatever the scheduling of the
// reads.
func firstAddress(found [][]hostAddress) map[string]string {
	out := map[string]string{}
	for _, list := range found {
		for _, e := range list {
			if _, seen := out[e.host]; !seen {
				out[e.host] = e.addr
			}
		}
	}
	return out
}

// single returns the one host and address of an entry, or false when it
// has not exactly one of each.
func single(hosts, addrs []string) (hostAddress, bool) {
	if len(hosts) != 1 || len(addrs) != 1 || hosts[0] == "" || addrs[0] == "" {
		return hostAddress{}, false
	}
	return hostAddress{hosts[0], addrs[0]}, true
}

// scanPriorVIPs guesses host addresses with a line scan of meshgen's
// ServiceEntry layout; priorVIPs checks the guess.
func (g *gen) scanPriorVIPs() map[string]string {
	files := g.priorServiceEntryFiles()
	found := make([][]hostAddress, len(files))
	pool.All(len(files), func(i int) {
		for _, doc := range splitDocs(g.opts.Prior[files[i]]) {
			if host, addr := scanEntry(doc); host != "" && addr != "" {
				found[i] = append(found[i], hostAddress{host, addr})
			}
		}
	})
	return firstAddress(found)
}

// priorVIPs returns the host addresses the prior tree's ServiceEntry files
// hold. A file equal to the rendering of built's entries for its cluster
// (rendered, by cluster) holds their hosts and addresses; any other file is
// decoded.
func (g *gen) priorVIPs(built map[string][]*ServiceEntry, rendered map[string][]byte) map[string]string {
	files := g.priorServiceEntryFiles()
	byPath := map[string]string{}
	for cluster := range built {
		byPath[ServiceEntriesPath(cluster)] = cluster
	}
	found := make([][]hostAddress, len(files))
	pool.All(len(files), func(i int) {
		data := g.opts.Prior[files[i]]
		if cluster, ok := byPath[files[i]]; ok && bytes.Equal(data, rendered[cluster]) {
			for _, se := range built[cluster] {
				if e, ok := single(se.Spec.Hosts, se.Spec.Addresses); ok {
					found[i] = append(found[i], e)
				}
			}
			return
		}
		dec := yamlv3.NewDecoder(bytes.NewReader(data))
		for {
			var pe priorEntry
			if err := dec.Decode(&pe); err != nil {
				break // io.EOF, or YAML that is not meshgen's: stop reading
			}
			if e, ok := single(pe.Spec.Hosts, pe.Spec.Addresses); ok && pe.Kind == "ServiceEntry" {
				found[i] = append(found[i], e)
			}
		}
	})
	return firstAddress(found)
}

// priorEntry is the part of a ServiceEntry priorVIPs decodes.
type priorEntry struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Hosts     []string `yaml:"hosts"`
		Addresses []string `yaml:"addresses"`
	} `yaml:"spec"`
}

// scanEntry finds the single host and address of one ServiceEntry document.
func scanEntry(doc []byte) (host, addr string) {
	var list *string
	count := 0
	for len(doc) > 0 {
		line, rest, _ := bytes.Cut(doc, []byte("\n"))
		doc = rest
		switch {
		case bytes.Equal(line, []byte("  hosts:")):
			list, count = &host, 0
		case bytes.Equal(line, []byte("  addresses:")):
			list, count = &addr, 0
		case list != nil && bytes.HasPrefix(line, []byte("  - ")):
			count++
			if count == 1 {
				*list = unquote(string(line[4:]))
			} else {
				*list = "" // more than one: not meshgen's layout
			}
		default:
			list = nil
		}
	}
	return host, addr
}

// unquote undoes the YAML quoting of a single-line scalar.
func unquote(s string) string {
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return s
	}
	var v string
	if yaml.Unmarshal([]byte(s), &v) != nil {
		return ""
	}
	return v
}

// marshalServiceEntryFiles renders each config cluster's ServiceEntries
// file, by cluster, marshalling every distinct ServiceEntry once.
func (g *gen) marshalServiceEntryFiles(ses map[string][]*ServiceEntry) map[string][]byte {
	seBytes := g.marshalAllServiceEntries(ses)
	clusters := sortedKeys(ses)
	data := make([][]byte, len(clusters))
	pool.All(len(clusters), func(i int) {
		if list := ses[clusters[i]]; len(list) > 0 {
			data[i] = marshalServiceEntries(list, seBytes)
		}
	})
	out := make(map[string][]byte, len(clusters))
	for i, c := range clusters {
		if data[i] != nil {
			out[c] = data[i]
		}
	}
	return out
}

// marshalAllServiceEntries marshals every distinct ServiceEntry once, in
// parallel.
func (g *gen) marshalAllServiceEntries(ses map[string][]*ServiceEntry) map[*ServiceEntry][]byte {
	var unique []*ServiceEntry
	seen := map[*ServiceEntry]bool{}
	for _, name := range sortedKeys(ses) {
		for _, se := range ses[name] {
			if !seen[se] {
				seen[se] = true
				unique = append(unique, se)
			}
		}
	}
	data := make([][]byte, len(unique))
	errs := make([]error, len(unique))
	pool.All(len(unique), func(i int) { data[i], errs[i] = g.yaml.toYAML(unique[i]) })
	for _, err := range errs {
		if err != nil {
			// Typed values of this package always marshal.
			panic(fmt.Sprintf("generator: marshal ServiceEntry: %v", err))
		}
	}
	out := make(map[*ServiceEntry][]byte, len(unique))
	for i, se := range unique {
		out[se] = data[i]
	}
	return out
}

// marshalServiceEntries renders one cluster's ServiceEntries file from the
// bytes marshalAllServiceEntries made.
func marshalServiceEntries(ses []*ServiceEntry, seBytes map[*ServiceEntry][]byte) []byte {
	n := len(Header)
	for _, se := range ses {
		n += len(seBytes[se]) + 4
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteString(Header)
	for i, se := range ses {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(seBytes[se])
	}
	return b.Bytes()
}

// gatewayNetworksKnown tells, per exporter, whether istiod knows a gateway
// on its network: part of what makes two config clusters' entries equal.
func (g *gen) gatewayNetworksKnown(istiod string, exporters []string) []bool {
	out := make([]bool, len(exporters))
	for i, e := range exporters {
		out[i] = g.topo.KnowsGateway(istiod, g.topo.Cluster(e).Network)
	}
	return out
}

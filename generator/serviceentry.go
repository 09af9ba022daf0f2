package generator

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"path"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
)

// serviceEntriesFile is the per-cluster file of ServiceEntries. One file per
// cluster means adding a service touches only the clusters involved.
const serviceEntriesFile = "service-entries.yaml"

// serviceEntries returns, by cluster, the ServiceEntries of every exported
// service (DESIGN §2.4): in each cluster the service runs in, an entry whose
// endpoint is the local Kubernetes service, where traffic arriving through
// the local east-west gateway lands; in each consumer, an entry whose
// endpoints are the exporters' east-west gateways.
func (g *gen) serviceEntries() (map[string][]*ServiceEntry, error) {
	inv := g.inv
	vips, err := g.allocateVIPs()
	if err != nil {
		return nil, err
	}
	out := map[string][]*ServiceEntry{}
	for i := range inv.Services {
		s := &inv.Services[i]
		host := s.Host(inv.Mesh.ServiceSuffix)
		var ports []SEPort
		for _, p := range s.Ports {
			ports = append(ports, SEPort{Number: p.Port, Name: p.Name, Protocol: p.Protocol})
		}
		sort.Slice(ports, func(i, j int) bool { return ports[i].Number < ports[j].Number })
		var addrs []string
		if v, ok := vips[host]; ok {
			addrs = []string{v}
		}
		newSE := func(resolution string, eps []WorkloadEntry) *ServiceEntry {
			return &ServiceEntry{
				TypeMeta: TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "ServiceEntry"},
				Metadata: ObjectMeta{Name: host, Namespace: IstioNamespace},
				Spec: ServiceEntrySpec{
					Hosts: []string{host}, Addresses: addrs, Ports: ports,
					Location: "MESH_INTERNAL", Resolution: resolution, Endpoints: eps,
				},
			}
		}
		// One object per side, shared by every cluster on that side: the
		// entries are identical there, and are marshalled once.
		exporters := map[string]bool{}
		local := newSE("DNS", []WorkloadEntry{{Address: s.Name + "." + s.Namespace + ".svc.cluster.local"}})
		for _, name := range s.Clusters {
			exporters[name] = true
			out[name] = append(out[name], local)
		}
		var remote *ServiceEntry
		for _, consumer := range g.consumers(s) {
			if exporters[consumer] {
				continue
			}
			if remote != nil {
				out[consumer] = append(out[consumer], remote)
				continue
			}
			var eps []WorkloadEntry
			resolution := "STATIC"
			for _, name := range s.Clusters {
				e := inv.Cluster(name)
				gw := e.EastWestGateway
				if gw == nil {
					// Validation guarantees a gateway wherever a consumer needs one.
					return nil, fmt.Errorf("internal error: exporter %s of %s has no east-west gateway", name, host)
				}
				ep := WorkloadEntry{
					Address: gw.Address,
					Ports:   map[string]int{},
					Labels:  map[string]string{"security.istio.io/tlsMode": "istio"},
					Network: e.Network,
				}
				for _, p := range s.Ports {
					ep.Ports[p.Name] = gw.Port
				}
				if l := e.Locality; l != nil {
					ep.Locality = l.Region
					if l.Zone != "" {
						ep.Locality += "/" + l.Zone
					}
				}
				if !inventory.IsIP(gw.Address) {
					resolution = "DNS"
				}
				eps = append(eps, ep)
			}
			sort.Slice(eps, func(i, j int) bool { return eps[i].Address < eps[j].Address })
			remote = newSE(resolution, eps)
			out[consumer] = append(out[consumer], remote)
		}
	}
	for _, ses := range out {
		sort.Slice(ses, func(i, j int) bool { return ses[i].Metadata.Name < ses[j].Metadata.Name })
	}
	return out, nil
}

// consumers lists the clusters that may call s: exportTo, or every other
// cluster when exportTo is omitted.
func (g *gen) consumers(s *inventory.Service) []string {
	if s.ExportTo != nil {
		return s.ExportTo
	}
	var out []string
	for _, c := range g.inv.Clusters {
		out = append(out, c.Name)
	}
	return out
}

// allocateVIPs gives every exported host one address from the pool. The
// fleet repository is the state: addresses already in the prior tree are
// kept, so adding, removing or renaming a service never moves another one.
// A new host starts probing at a hash of its name, so that even a tree
// generated from scratch mostly reproduces earlier addresses.
func (g *gen) allocateVIPs() (map[string]string, error) {
	inv := g.inv
	if inv.Mesh.AddressPool == "" {
		return nil, nil
	}
	pool := netip.MustParsePrefix(inv.Mesh.AddressPool)
	hosts := map[string]bool{}
	for i := range inv.Services {
		hosts[inv.Services[i].Host(inv.Mesh.ServiceSuffix)] = true
	}
	vips := map[string]string{}
	used := map[netip.Addr]bool{}
	for host, addr := range g.priorVIPs() {
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

// priorVIPs reads host addresses back from the prior tree's ServiceEntries.
// The files are meshgen's own output, in the layout toYAML
// writes, so a line scan finds each entry's single address and host without
// parsing tens of megabytes of YAML; anything unexpected is skipped, and the
// host then simply gets a fresh address.
func (g *gen) priorVIPs() map[string]string {
	var files []string
	for _, p := range sortedKeys(g.opts.Prior) {
		if path.Base(p) == serviceEntriesFile {
			files = append(files, p)
		}
	}
	found := make([]map[string]string, len(files))
	parallel(len(files), func(i int) {
		m := map[string]string{}
		for _, doc := range splitDocs(g.opts.Prior[files[i]]) {
			host, addr := scanEntry(doc)
			if host == "" || addr == "" {
				continue
			}
			if _, seen := m[host]; !seen {
				m[host] = addr
			}
		}
		found[i] = m
	})
	// The first file (in path order) that names a host wins, whatever the
	// scheduling of the scans.
	out := map[string]string{}
	for _, m := range found {
		for host, addr := range m {
			if _, seen := out[host]; !seen {
				out[host] = addr
			}
		}
	}
	return out
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

// marshalAllServiceEntries marshals every distinct ServiceEntry once, in
// parallel, before the clusters that share them render.
func (g *gen) marshalAllServiceEntries() {
	var unique []*ServiceEntry
	seen := map[*ServiceEntry]bool{}
	for _, name := range sortedKeys(g.ses) {
		for _, se := range g.ses[name] {
			if !seen[se] {
				seen[se] = true
				unique = append(unique, se)
			}
		}
	}
	data := make([][]byte, len(unique))
	errs := make([]error, len(unique))
	parallel(len(unique), func(i int) { data[i], errs[i] = toYAML(unique[i]) })
	for _, err := range errs {
		if err != nil {
			// Typed values of this package always marshal.
			panic(fmt.Sprintf("generator: marshal ServiceEntry: %v", err))
		}
	}
	g.seBytes = make(map[*ServiceEntry][]byte, len(unique))
	for i, se := range unique {
		g.seBytes[se] = data[i]
	}
}

// marshalServiceEntries renders one cluster's ServiceEntries file from the
// bytes marshalAllServiceEntries made.
func (g *gen) marshalServiceEntries(ses []*ServiceEntry) []byte {
	n := len(Header)
	for _, se := range ses {
		n += len(g.seBytes[se]) + 4
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteString(Header)
	for i, se := range ses {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(g.seBytes[se])
	}
	return b.Bytes()
}

package inventory

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"filippo.io/age"

	meshpki "github.com/meshgen/meshgen/generator/pki"
)

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	versionRE        = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	localityRE       = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

// Protocols are the port protocols Istio accepts on a ServiceEntry.
var Protocols = []string{"GRPC", "GRPC-WEB", "HTTP", "HTTP2", "HTTPS", "MONGO", "MYSQL", "REDIS", "TCP", "TLS", "UDP"}

// needsVIP are the protocols whose traffic carries no host name (no HTTP
// Host header, no TLS SNI), so that a ServiceEntry without an address would
// capture every connection to its port; istioctl analyze reports IST0134.
var needsVIP = map[string]bool{"TCP": true, "MONGO": true, "MYSQL": true, "REDIS": true, "UDP": true}

type validator struct {
	inv  *Inventory
	errs ErrorList
	// The "known: ..." lists of messages, computed once: a fleet with many
	// dangling references must not sort every name for each of them.
	knownNetworks, knownClusters string
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.inv.File, Pos: v.inv.PosOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// required reports a missing value and returns false, or returns true.
func (v *validator) required(path, val string) bool {
	if val == "" {
		if v.inv.Has(path) {
			v.errorf(path, "must not be empty")
		} else {
			v.errorf(path, "required field is missing")
		}
		return false
	}
	return true
}

func (v *validator) label(path, val string) {
	if !v.required(path, val) {
		return
	}
	if len(val) > 63 || !dns1123Label.MatchString(val) {
		v.errorf(path, "%q is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", val)
	}
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.errorf(path, "%q is not one of: %s", val, strings.Join(allowed, ", "))
}

func (v *validator) recipients(path string, rs []string) {
	seen := map[string]bool{}
	for i, r := range rs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if _, err := age.ParseX25519Recipient(r); err != nil {
			if strings.HasPrefix(strings.ToUpper(r), "AGE-SECRET-KEY-") {
				// Never echo a secret, not even a misplaced one.
				v.errorf(p, "this is an age secret key, not a recipient: put its public key (age-keygen -y) here, and treat the secret key as leaked")
				continue
			}
			v.errorf(p, "%q is not an age recipient (want age1...)", r)
		}
		if seen[r] {
			v.errorf(p, "duplicate recipient %q", r)
		}
		seen[r] = true
	}
}

// maxKnown bounds the names a message lists: beyond a dozen, a list helps
// nobody and makes every message of a large fleet a wall of text.
const maxKnown = 12

func known(m map[string]bool) string {
	names := make([]string, 0, len(m))
	for n := range m {
		if n != "" { // reported as empty where it is written
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > maxKnown {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxKnown], ", "), len(names)-maxKnown)
	}
	return strings.Join(names, ", ")
}

// Validate checks every rule of the inventory and returns an ErrorList of
// all findings, sorted by position, or nil.
func (inv *Inventory) Validate() error {
	v := &validator{inv: inv}
	v.document()
	v.mesh()
	networks := v.networks()
	clusters := v.clusters(networks)
	v.services(clusters)
	v.trafficPolicies()
	v.revisions()
	v.argoCD()
	v.ambient()
	v.limits()
	if len(v.errs) == 0 {
		return nil
	}
	return sortErrors(v.errs)
}

func (v *validator) document() {
	inv := v.inv
	if inv.APIVersion != APIVersion {
		if v.required("apiVersion", inv.APIVersion) {
			v.errorf("apiVersion", "%q is not supported; want %q", inv.APIVersion, APIVersion)
		}
	}
	if inv.Kind != Kind {
		if v.required("kind", inv.Kind) {
			v.errorf("kind", "%q is not supported; want %q", inv.Kind, Kind)
		}
	}
}

func (v *validator) mesh() {
	m := v.inv.Mesh
	if v.required("mesh.id", m.ID) && !dns1123Subdomain.MatchString(m.ID) {
		v.errorf("mesh.id", "%q is not a DNS-1123 name (lowercase letters, digits, '-' and '.')", m.ID)
	}
	if !dns1123Subdomain.MatchString(m.TrustDomain) || len(m.TrustDomain) > 253 {
		v.errorf("mesh.trustDomain", "%q is not a DNS name", m.TrustDomain)
	}
	// With revisions, revisions() checks each revision's version.
	if len(m.Istio.Revisions) == 0 && v.required("mesh.istio.version", m.Istio.Version) && !versionRE.MatchString(m.Istio.Version) {
		v.errorf("mesh.istio.version", "%q is not a version such as 1.28.2", m.Istio.Version)
	}
	if m.Istio.Revision != "" && (len(m.Istio.Revision) > 63 || !dns1123Label.MatchString(m.Istio.Revision)) {
		v.errorf("mesh.istio.revision", "%q is not a DNS-1123 label such as 1-28", m.Istio.Revision)
	}
	v.installer()
	v.oneOf("mesh.discovery", m.Discovery, "service-entries", "remote-secrets")
	if !dns1123Subdomain.MatchString(m.ServiceSuffix) {
		v.errorf("mesh.serviceSuffix", "%q is not a DNS suffix such as global", m.ServiceSuffix)
	} else if m.ServiceSuffix == "local" || strings.HasSuffix(m.ServiceSuffix, ".local") {
		v.errorf("mesh.serviceSuffix", "%q would collide with Kubernetes service names (*.local); use a suffix such as global", m.ServiceSuffix)
	}
	if m.AddressPool != "" {
		if p, err := netip.ParsePrefix(m.AddressPool); err != nil {
			v.errorf("mesh.addressPool", "%q is not a CIDR such as 240.0.0.0/16", m.AddressPool)
		} else if p.Masked() != p {
			v.errorf("mesh.addressPool", "%q has host bits set; did you mean %s?", m.AddressPool, p.Masked())
		}
	}
	pki := m.PKI
	for i, f := range pki.TrustedRoots {
		if f == "" {
			v.errorf(fmt.Sprintf("mesh.pki.trustedRoots[%d]", i), "must not be empty")
		}
	}
	v.oneOf("mesh.pki.keyAlgorithm", pki.KeyAlgorithm, meshpki.AlgorithmNames()...)
	for path, d := range map[string]Duration{
		"mesh.pki.root.validity":            pki.Root.Validity,
		"mesh.pki.intermediate.validity":    pki.Intermediate.Validity,
		"mesh.pki.intermediate.renewBefore": pki.Intermediate.RenewBefore,
	} {
		if d.Duration <= 0 {
			v.errorf(path, "must be a positive duration, not %s", d)
		}
	}
	if pki.Intermediate.RenewBefore.Duration >= pki.Intermediate.Validity.Duration && pki.Intermediate.Validity.Duration > 0 {
		v.errorf("mesh.pki.intermediate.renewBefore", "%s is not shorter than the intermediate validity %s; every run would re-issue", pki.Intermediate.RenewBefore, pki.Intermediate.Validity)
	}
	if pki.Intermediate.Validity.Duration > pki.Root.Validity.Duration && pki.Root.Validity.Duration > 0 {
		v.errorf("mesh.pki.intermediate.validity", "%s is longer than the root validity %s", pki.Intermediate.Validity, pki.Root.Validity)
	}
	if len(m.Recipients) == 0 {
		v.errorf("mesh.recipients", "at least one operator age recipient is required: the root CA key is encrypted to it")
	}
	v.recipients("mesh.recipients", m.Recipients)
	if g := m.GitOps; g != nil && g.Flux != nil {
		v.label("mesh.gitops.flux.sourceRef", g.Flux.SourceRef)
		v.label("mesh.gitops.flux.decryptionSecret", g.Flux.DecryptionSecret)
		if p := g.Flux.Path; !strings.HasPrefix(p, "./") || strings.Contains(p, "..") {
			v.errorf("mesh.gitops.flux.path", "%q is not a path inside the repository such as ./ or ./clusters/mesh", p)
		}
		if g.Flux.Interval.Duration <= 0 {
			v.errorf("mesh.gitops.flux.interval", "must be a positive duration, not %s", g.Flux.Interval)
		}
	}
}

func (v *validator) networks() map[string]bool {
	names := map[string]bool{}
	if len(v.inv.Networks) == 0 {
		v.errorf("networks", "at least one network is required")
	}
	for i, n := range v.inv.Networks {
		p := fmt.Sprintf("networks[%d].name", i)
		v.label(p, n.Name)
		if names[n.Name] && n.Name != "" {
			v.errorf(p, "duplicate network %q", n.Name)
		}
		names[n.Name] = true
	}
	return names
}

func (v *validator) clusters(networks map[string]bool) map[string]*Cluster {
	inv := v.inv
	byName := map[string]*Cluster{}
	if len(inv.Clusters) == 0 {
		v.errorf("clusters", "at least one cluster is required")
	}
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		p := fmt.Sprintf("clusters[%d].name", i)
		v.label(p, c.Name)
		if _, dup := byName[c.Name]; dup && c.Name != "" {
			v.errorf(p, "duplicate cluster %q", c.Name)
			continue
		}
		byName[c.Name] = c
	}
	multiNetwork := inv.MultiNetwork()
	primaries := 0
	for _, o := range inv.Clusters {
		if o.Role == RolePrimary {
			primaries++
		}
	}
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		p := fmt.Sprintf("clusters[%d]", i)
		if v.required(p+".network", c.Network) && !networks[c.Network] {
			if v.knownNetworks == "" {
				v.knownNetworks = known(networks)
			}
			v.errorf(p+".network", "unknown network %q (known: %s)", c.Network, v.knownNetworks)
		}
		v.oneOf(p+".role", c.Role, RolePrimary, RoleRemote)
		switch c.Role {
		case RolePrimary:
			if c.Primary != "" {
				v.errorf(p+".primary", "only a remote cluster names a primary; %q is a primary", c.Name)
			}
		case RoleRemote:
			if !v.required(p+".primary", c.Primary) {
				break
			}
			pc, ok := byName[c.Primary]
			switch {
			case !ok:
				v.errorf(p+".primary", "unknown cluster %q (known: %s)", c.Primary, v.clusterNames(byName))
			case pc == c:
				v.errorf(p+".primary", "a remote cannot be its own primary")
			case pc.Role != RolePrimary:
				v.errorf(p+".primary", "cluster %q is a %s, not a primary", c.Primary, pc.Role)
			case pc.EastWestGateway == nil:
				v.errorf(p+".primary", "primary %q has no eastWestGateway to expose istiod to %q through", c.Primary, c.Name)
			}
		}
		if l := c.Locality; l != nil {
			if v.required(p+".locality.region", l.Region) && !localityRE.MatchString(l.Region) {
				v.errorf(p+".locality.region", "%q is not a valid region name", l.Region)
			}
			if l.Zone != "" && !localityRE.MatchString(l.Zone) {
				v.errorf(p+".locality.zone", "%q is not a valid zone name", l.Zone)
			}
		}
		if g := c.EastWestGateway; g != nil {
			if v.required(p+".eastWestGateway.address", g.Address) && !isAddress(g.Address) {
				v.errorf(p+".eastWestGateway.address", "%q is neither an IP address nor a DNS name", g.Address)
			}
			if g.Port < 1 || g.Port > 65535 {
				v.errorf(p+".eastWestGateway.port", "%d is not a port (1-65535)", g.Port)
			}
		} else if multiNetwork {
			v.errorf(p, "cluster %q needs an eastWestGateway: the mesh spans networks %s", c.Name, strings.Join(inv.UsedNetworks(), ", "))
		}
		switch {
		case c.APIServer != "":
		case c.Role == RoleRemote:
			v.errorf(p+".apiServer", "remote cluster %q needs apiServer: its primary's istiod watches it through a remote secret", c.Name)
		case inv.Mesh.Discovery == "remote-secrets" && primaries > 1:
			v.errorf(p+".apiServer", "cluster %q needs apiServer: with discovery remote-secrets the other primaries watch it", c.Name)
		}
		if c.APIServer != "" {
			u, err := url.Parse(c.APIServer)
			switch {
			case err == nil && u.User != nil:
				// Never echo a password; the token belongs in the stored
				// credential, not in the inventory.
				v.errorf(p+".apiServer", "%q carries credentials: write the URL without them, such as https://203.0.113.1:6443, and store the token with 'meshgen credentials set'", u.Redacted())
			case err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
				v.errorf(p+".apiServer", "%q is not an API server URL such as https://203.0.113.1:6443", c.APIServer)
			}
		}
		if len(c.Recipients) == 0 {
			v.errorf(p+".recipients", "cluster %q receives encrypted secrets (cacerts) but has no age recipient: add the public key of the age identity Flux or Argo CD decrypts with in this cluster", c.Name)
		}
		v.recipients(p+".recipients", c.Recipients)
	}
	return byName
}

func (v *validator) clusterNames(m map[string]*Cluster) string {
	if v.knownClusters == "" {
		b := map[string]bool{}
		for n := range m {
			b[n] = true
		}
		v.knownClusters = known(b)
	}
	return v.knownClusters
}

func isAddress(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return !strings.Contains(s, "%")
	}
	if net.ParseIP(s) != nil {
		return true
	}
	// A name whose last label is all digits (203.0.113.300) is no DNS
	// name but a mistyped IP address (RFC 3696 section 2).
	last := s[strings.LastIndexByte(s, '.')+1:]
	return len(s) <= 253 && dns1123Subdomain.MatchString(s) && strings.Contains(s, ".") &&
		strings.Trim(last, "0123456789") != ""
}

// IsIP reports whether a gateway address is an IP address (else a DNS name).
func IsIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func (v *validator) services(clusters map[string]*Cluster) {
	inv := v.inv
	hosts := map[string]string{}
	for i, s := range inv.Services {
		p := fmt.Sprintf("services[%d]", i)
		v.label(p+".name", s.Name)
		v.label(p+".namespace", s.Namespace)
		if s.Name != "" && s.Namespace != "" {
			host := s.Host(inv.Mesh.ServiceSuffix)
			if first, dup := hosts[host]; dup {
				v.errorf(p+".name", "duplicate service %s/%s (first at %s)", s.Namespace, s.Name, first)
			} else {
				hosts[host] = p
			}
		}
		if len(s.Ports) == 0 {
			v.errorf(p+".ports", "at least one port is required")
		}
		names, numbers := map[string]bool{}, map[int]bool{}
		for j, port := range s.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", p, j)
			v.label(pp+".name", port.Name)
			if names[port.Name] && port.Name != "" {
				v.errorf(pp+".name", "duplicate port name %q", port.Name)
			}
			names[port.Name] = true
			if port.Port < 1 || port.Port > 65535 {
				v.errorf(pp+".port", "%d is not a port (1-65535)", port.Port)
			} else if numbers[port.Port] {
				v.errorf(pp+".port", "duplicate port %d", port.Port)
			}
			numbers[port.Port] = true
			if v.required(pp+".protocol", port.Protocol) {
				v.oneOf(pp+".protocol", port.Protocol, Protocols...)
			}
			if needsVIP[port.Protocol] && inv.Mesh.AddressPool == "" && inv.Mesh.Discovery == "service-entries" {
				v.errorf(pp+".protocol", "a %s port needs the service to have a virtual IP (sidecars tell plain TCP services apart only by address): set mesh.addressPool, e.g. 240.240.0.0/16", port.Protocol)
			}
		}
		if len(s.Clusters) == 0 {
			v.errorf(p+".clusters", "at least one cluster is required")
		}
		v.clusterRefs(p+".clusters", s.Clusters, clusters)
		v.clusterRefs(p+".exportTo", s.ExportTo, clusters)
		if s.ExportTo != nil && len(s.ExportTo) == 0 {
			// Read as "nobody" by some and "everybody" by others; the
			// inventory says which.
			v.errorf(p+".exportTo", "is empty: omit exportTo to export %s.%s to every other cluster, or list the clusters that may call it", s.Name, s.Namespace)
		}
		if host := s.Host(inv.Mesh.ServiceSuffix); len(host) > 253 {
			v.errorf(p+".name", "host %s is longer than 253 characters", host)
		}
		if inv.Mesh.Discovery == "service-entries" {
			// With remote-secrets, same-network callers reach the pods
			// directly, and a mesh that spans networks already needs
			// a gateway in every cluster.
			v.exporterGateways(p, s, clusters)
		}
	}
	if pool := inv.Mesh.AddressPool; pool != "" {
		if pfx, err := netip.ParsePrefix(pool); err == nil {
			free := 1 << min(pfx.Addr().BitLen()-pfx.Bits(), 40)
			if pfx.Bits() < pfx.Addr().BitLen()-1 {
				free -= 2
			}
			if free < len(hosts) {
				v.errorf("mesh.addressPool", "%s has %d usable addresses, fewer than the %d exported services", pool, free, len(hosts))
			}
		}
	}
}

// exporterGateways checks that consumers can reach every cluster a service
// runs in: through that cluster's east-west gateway.
func (v *validator) exporterGateways(p string, s Service, clusters map[string]*Cluster) {
	exporters := map[string]bool{}
	for _, e := range s.Clusters {
		exporters[e] = true
	}
	// A few consumers name the problem; looking for more than that would
	// make this quadratic in the size of the fleet.
	const few = 3
	var remote []string
	consumers := s.ExportTo
	if consumers == nil { // every cluster
		consumers = make([]string, 0, few+1)
		for _, c := range v.inv.Clusters {
			if !exporters[c.Name] {
				consumers = append(consumers, c.Name)
				if len(consumers) > few {
					break
				}
			}
		}
	}
	for _, c := range consumers {
		if !exporters[c] {
			remote = append(remote, c)
			if len(remote) > few {
				break
			}
		}
	}
	if len(remote) == 0 {
		return
	}
	who := strings.Join(remote, ", ")
	if len(remote) > few {
		who = strings.Join(remote[:few], ", ") + " and others"
	}
	for j, e := range s.Clusters {
		if c, ok := clusters[e]; ok && c.EastWestGateway == nil {
			v.errorf(fmt.Sprintf("%s.clusters[%d]", p, j), "cluster %q has no eastWestGateway, but %s reach %s.%s through it", e, who, s.Name, s.Namespace)
		}
	}
}

func (v *validator) clusterRefs(path string, refs []string, clusters map[string]*Cluster) {
	seen := map[string]bool{}
	for i, r := range refs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if _, ok := clusters[r]; !ok {
			v.errorf(p, "unknown cluster %q (known: %s)", r, v.clusterNames(clusters))
		} else if seen[r] {
			v.errorf(p, "duplicate cluster %q", r)
		}
		seen[r] = true
	}
}

// Host is the exported host name of a service.
func (s *Service) Host(suffix string) string {
	return s.Name + "." + s.Namespace + "." + suffix
}

// UsedNetworks lists, sorted, the declared networks that have at least one
// cluster.
func (inv *Inventory) UsedNetworks() []string {
	declared := map[string]bool{}
	for _, n := range inv.Networks {
		declared[n.Name] = true
	}
	set := map[string]bool{}
	for _, c := range inv.Clusters {
		if declared[c.Network] {
			set[c.Network] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MultiNetwork reports whether the clusters sit on more than one network.
func (inv *Inventory) MultiNetwork() bool { return len(inv.UsedNetworks()) > 1 }

// Cluster returns the named cluster, or nil.
func (inv *Inventory) Cluster(name string) *Cluster {
	for i := range inv.Clusters {
		if inv.Clusters[i].Name == name {
			return &inv.Clusters[i]
		}
	}
	return nil
}

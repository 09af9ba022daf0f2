package inventory

import (
	"fmt"
	"net/netip"
)

// The length limits are those of the objects and certificates a value ends
// up in, so that an inventory meshgen accepts never makes a file Kubernetes,
// X.509 or Istio rejects (and a runaway value fails fast, before it is
// copied into every file of the tree).
const (
	// maxMeshID: mesh.id names the Argo CD ApplicationSet "<id>-istio", a
	// Kubernetes object name of at most 253 characters.
	maxMeshID = 253 - len("-istio")
	// maxVersion: mesh.istio.version is an image tag of Istio's, at most
	// 128 characters in the OCI distribution spec.
	maxVersion = 128
	// maxX509Name: ub-common-name and ub-organization-name of RFC 5280.
	maxX509Name = 64
)

// limits checks the bounds Kubernetes, X.509 and Istio put on values that
// the per-field rules do not already bound.
func (v *validator) limits() {
	m := v.inv.Mesh
	tooLong := func(path, val string, limit int, why string) {
		// Only where the value is written: a default derived from another
		// field is reported there.
		if len(val) > limit && v.inv.Has(path) {
			v.errorf(path, "%d characters, more than the %d %s allows", len(val), limit, why)
		}
	}
	tooLong("mesh.id", m.ID, maxMeshID, "a Kubernetes object name (<id>-istio)")
	tooLong("mesh.istio.version", m.Istio.Version, maxVersion, "an image tag")
	tooLong("mesh.pki.root.commonName", m.PKI.Root.CommonName, maxX509Name, "X.509 (RFC 5280 ub-common-name)")
	tooLong("mesh.pki.root.organization", m.PKI.Root.Organization, maxX509Name, "X.509 (RFC 5280 ub-organization-name)")
	tooLong("mesh.pki.intermediate.organization", m.PKI.Intermediate.Organization, maxX509Name, "X.509 (RFC 5280 ub-organization-name)")

	if pool, err := netip.ParsePrefix(m.AddressPool); err == nil && !reservedPool(pool) {
		v.errorf("mesh.addressPool", "%s reaches beyond reserved address space: the VIPs handed out would shadow real destinations; use a range no one routes, such as 240.0.0.0/16 (Istio's own auto-allocation uses 240.240.0.0/16 and 2001:2::/48)", pool)
	}
	for i, c := range v.inv.Clusters {
		if c.EastWestGateway == nil {
			continue
		}
		if a, err := netip.ParseAddr(c.EastWestGateway.Address); err == nil {
			if why := unusableGateway(a); why != "" {
				v.errorf(fmt.Sprintf("clusters[%d].eastWestGateway.address", i), "%s is %s, which no other cluster can reach; give the address other networks reach the gateway at", a, why)
			}
		}
	}
}

// reservedPools are ranges that never hold public destinations: Class E
// (where Istio allocates), the private ranges, shared address space, the
// benchmarking range, and the IPv6 benchmarking, documentation-like and
// unique local ranges Istio and operators use for VIPs.
var reservedPools = []netip.Prefix{
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("2001:2::/48"),
	netip.MustParsePrefix("fc00::/7"),
}

func reservedPool(p netip.Prefix) bool {
	p = p.Masked()
	for _, r := range reservedPools {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// unusableGateway says why an address cannot be an east-west gateway's.
func unusableGateway(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	return ""
}

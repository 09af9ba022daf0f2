package inventory

import (
	"fmt"
)

// AmbientMinVersion is the first Istio release whose ambient mode joins
// clusters on different networks (multi-primary, alpha in 1.27).
const AmbientMinVersion = "1.27.0"

// AmbientHBONEPort is where ambient east-west gateways take HBONE from
// other networks: fixed by Istio (pilot gives ztunnels 15008 for every
// remote network gateway).
const AmbientHBONEPort = 15008

// Ambient reports whether the mesh runs Istio's ambient data plane.
func (m Mesh) Ambient() bool { return m.Dataplane == DataplaneAmbient }

// ambient checks mesh.dataplane and, for ambient, refuses what Istio's
// ambient multicluster of the pinned release does not do, each time naming
// the limitation (docs/topology-ambient.md).
func (v *validator) ambient() {
	inv := v.inv
	m := inv.Mesh
	v.oneOf("mesh.dataplane", m.Dataplane, DataplaneSidecar, DataplaneAmbient)
	if !m.Ambient() {
		return
	}
	if m.Istio.Version != "" && versionRE.MatchString(m.Istio.Version) && !releaseAtLeast(m.Istio.Version, AmbientMinVersion) {
		v.errorf("mesh.istio.version", "%s is older than 1.27, the first Istio release whose ambient mode joins clusters across networks (dataplane ambient)", m.Istio.Version)
	}
	if len(m.Istio.Revisions) > 0 {
		v.errorf("mesh.istio.revisions", "revisions are not supported with dataplane ambient: ztunnel and istio-cni run once per node and are upgraded in place (Istio's ambient upgrade guide), which per-revision releases do not model; upgrade by changing mesh.istio.version")
	}
	if m.Discovery == "service-entries" {
		v.errorf("mesh.discovery", "discovery service-entries is not supported with dataplane ambient: ambient multicluster finds other clusters' services only through remote secrets (istiod watching their API servers); use remote-secrets")
	}
	if m.TrafficPolicy != nil {
		v.errorf("mesh.trafficPolicy", "%s", ambientTrafficPolicy)
	}
	byNetwork := map[string]string{}
	for i, c := range inv.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		if c.Role == RoleRemote {
			v.errorf(p+".role", "remote cluster %q: Istio's ambient mode supports multi-primary only (no primary-remote), so every cluster runs its own istiod with dataplane ambient; make it a primary", c.Name)
		}
		if first, ok := byNetwork[c.Network]; ok && c.Network != "" {
			v.errorf(p+".network", "clusters %q and %q share network %s: Istio's ambient multicluster supports only multi-network meshes (its install guide: single-network configurations are untested and may be broken); put each cluster on its own network", first, c.Name, c.Network)
		} else {
			byNetwork[c.Network] = c.Name
		}
		if g := c.EastWestGateway; g != nil && g.Port != AmbientHBONEPort {
			v.errorf(p+".eastWestGateway.port", "%d: an ambient east-west gateway takes traffic from other networks as HBONE on port %d, which Istio fixes; remove port", g.Port, AmbientHBONEPort)
		}
	}
	for i, s := range inv.Services {
		p := fmt.Sprintf("services[%d]", i)
		if missing := notCalling(inv, s); missing != "" {
			v.errorf(p+".exportTo", "leaves out %s, but with dataplane ambient a global service (istio.io/global=true) is visible to every cluster of the mesh: exportTo cannot narrow who calls %s.%s; remove exportTo", missing, s.Name, s.Namespace)
		}
		if s.TrafficPolicy != nil {
			v.errorf(p+".trafficPolicy", "%s", ambientTrafficPolicy)
		}
	}
}

// notCalling names a cluster that neither runs s nor is in its exportTo,
// or is "" when every cluster may call s.
func notCalling(inv *Inventory, s Service) string {
	if len(s.ExportTo) == 0 { // omitted: every cluster; empty: reported by services
		return ""
	}
	in := map[string]bool{}
	for _, c := range append(append([]string(nil), s.Clusters...), s.ExportTo...) {
		in[c] = true
	}
	for _, c := range inv.Clusters {
		if !in[c.Name] {
			return fmt.Sprintf("cluster %q", c.Name)
		}
	}
	return ""
}

// ambientTrafficPolicy explains why trafficPolicy is refused with ambient.
const ambientTrafficPolicy = "trafficPolicy is not supported with dataplane ambient: it becomes a DestinationRule, which ztunnel does not apply (only waypoint proxies do, and meshgen deploys none); remove it"

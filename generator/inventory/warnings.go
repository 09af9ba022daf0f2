package inventory

import (
	"fmt"
	"strings"
)

// Warnings returns the findings about a valid inventory that describes a
// mesh Istio does not run as it documents: meshgen generates it, but the
// user should know. They are sorted by position like errors and never make
// the inventory unusable. Call it after Validate succeeded.
func (inv *Inventory) Warnings() ErrorList {
	var out ErrorList
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		if c.Role != RolePrimary || c.EastWestGateway == nil || IsIP(c.EastWestGateway.Address) {
			continue
		}
		var remotes []string
		for _, r := range inv.Clusters {
			if r.Role == RoleRemote && r.Primary == c.Name {
				remotes = append(remotes, r.Name)
			}
		}
		if len(remotes) == 0 {
			continue
		}
		// A remote's global.remotePilotAddress is its primary's east-west
		// gateway address. Istio's istiod chart writes an EndpointSlice for
		// an IP address, but for a name an ExternalName Service: the
		// injection webhook then calls the name on the Service's port 443,
		// where the gateway listens on 15017 only.
		who := "remote " + remotes[0] + " reaches"
		if len(remotes) > 1 {
			who = "remotes " + strings.Join(remotes, ", ") + " reach"
		}
		p := fmt.Sprintf("clusters[%d].eastWestGateway.address", i)
		out = append(out, &Error{File: inv.File, Pos: inv.PosOf(p), Path: p, Msg: fmt.Sprintf(
			"%q is a DNS name, and %s istiod through it (global.remotePilotAddress): "+
				"Istio's primary-remote guide calls itself \"not suitable\" where \"Load Balancers (LB) are presented as Fully Qualified Domain Names (FQDN)\" (AWS EKS): "+
				"the remote's istiod Service becomes an ExternalName and sidecar injection there fails; give this gateway a static IP address and write that",
			c.EastWestGateway.Address, who)})
	}
	return sortErrors(out)
}

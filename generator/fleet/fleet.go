// Package fleet writes synthetic inventories of any size, for benchmarks
// and scale tests: clusters spread over networks, each with an east-west
// gateway, and services that each run in some clusters and are exported to
// others.
package fleet

import (
	"fmt"
	"strings"
)

// Spec sizes a synthetic fleet.
type Spec struct {
	Clusters    int
	Networks    int
	Services    int
	RunsIn      int // clusters each service runs in
	ExportTo    int // clusters each service is exported to
	AddressPool string
}

// The sizes the performance targets are stated for.
var (
	M = Spec{Clusters: 50, Networks: 2, Services: 1000, RunsIn: 2, ExportTo: 8, AddressPool: "240.0.0.0/12"}
	L = Spec{Clusters: 200, Networks: 3, Services: 5000, RunsIn: 2, ExportTo: 8, AddressPool: "240.0.0.0/12"}
)

// Test-only recipients (testdata/age): synthetic fleets are never real.
const (
	operatorRecipient = "age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf"
	clusterRecipient  = "age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq"
)

// Inventory renders the inventory YAML of a fleet. The same spec always
// gives the same bytes.
func Inventory(s Spec) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: meshgen/v1alpha1\nkind: Inventory\nmesh:\n  id: fleet\n")
	// ServiceEntries: the fleets measure the exported-service machinery
	// (VIPs, one entry per host and config cluster) at scale.
	fmt.Fprintf(&b, "  istio: {version: 1.28.2}\n  discovery: service-entries\n  addressPool: %s\n  recipients: [%s]\n", s.AddressPool, operatorRecipient)
	b.WriteString("networks:\n")
	for n := 0; n < s.Networks; n++ {
		fmt.Fprintf(&b, "  - name: net-%d\n", n)
	}
	b.WriteString("clusters:\n")
	for c := 0; c < s.Clusters; c++ {
		fmt.Fprintf(&b, "  - name: c%03d\n    network: net-%d\n    locality: {region: region-%d, zone: zone-%d}\n",
			c, c%s.Networks, c%s.Networks, c%7)
		fmt.Fprintf(&b, "    eastWestGateway: {address: 10.%d.%d.1}\n    recipients: [%s]\n", c/250, c%250, clusterRecipient)
	}
	b.WriteString("services:\n")
	for i := 0; i < s.Services; i++ {
		fmt.Fprintf(&b, "  - name: svc-%05d\n    namespace: ns-%d\n    ports: [{name: http, port: 8080, protocol: HTTP}]\n", i, i%20)
		b.WriteString("    clusters: [")
		for j := 0; j < s.RunsIn; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "c%03d", (i+j)%s.Clusters)
		}
		b.WriteString("]\n    exportTo: [")
		for j := 0; j < s.ExportTo; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "c%03d", (i*7+s.RunsIn+j*3+1)%s.Clusters)
		}
		b.WriteString("]\n")
	}
	return []byte(b.String())
}

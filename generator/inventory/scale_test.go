package inventory

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateIsNotQuadratic feeds Validate an inventory that is wide in
// both clusters and services, with a finding for every service and every
// cluster: it must stay linear in the size of its messages (a message that
// lists every name is quadratic in all). Its time is BenchmarkValidateWide's:
// a quadratic rule (every service against every cluster) takes minutes
// there, a linear one about a second.
func TestValidateIsNotQuadratic(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 20000
	data := wideInventory(n)
	inv, err := Load("wide.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	err = inv.Validate()
	list, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("err = %v, want an ErrorList", err)
	}
	size := 0
	for _, e := range list {
		size += len(e.Error())
	}
	if len(list) < 3*n || size > 400*len(list) {
		t.Errorf("%d findings of %d bytes in all; want at least %d, of at most 400 bytes each", len(list), size, 3*n)
	}
	all := err.Error()
	for _, want := range []string{
		`wide.yaml:20011:93: services[0].clusters[0]: cluster "c0" has no eastWestGateway, but c1, c2, c3 and others reach s.ns through it`,
		`wide.yaml:20009:5: clusters[19999].primary: required field is missing`,
		`wide.yaml:20011:97: services[0].clusters[1]: unknown cluster "nope" (known: c0, c1, c10, c100, c1000, c10000, c10001, c10002, c10003, c10004, c10005, c10006 and 19988 more)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no finding %s", want)
		}
	}
}

// wideInventory has n clusters and n services, each with findings.
func wideInventory(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: meshgen/v1alpha1\nkind: Inventory\nmesh:\n  id: m\n  istio: {version: 1.28.2}\n  discovery: service-entries\n")
	b.WriteString("  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]\nnetworks: [{name: n}]\nclusters:\n")
	for i := 0; i < n; i++ {
		// role remote without primary: one finding per cluster.
		fmt.Fprintf(&b, "  - {name: c%d, network: n, role: remote, apiServer: https://10.0.0.1, recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]}\n", i)
	}
	// Every service runs in c0, which has no east-west gateway, and is
	// exported to every other cluster; and names a cluster that does not exist.
	b.WriteString("services:\n  - &s {name: s, namespace: ns, ports: [{name: http, port: 80, protocol: HTTP}], clusters: [c0, nope]}\n")
	for i := 1; i < n; i++ {
		b.WriteString("  - *s\n")
	}
	return []byte(b.String())
}

// BenchmarkValidateWide loads and validates the wide inventory of
// TestValidateIsNotQuadratic (20,000 clusters, 20,000 services, 60,000
// findings); docs/performance.md records it.
func BenchmarkValidateWide(b *testing.B) {
	data := wideInventory(20000)
	for b.Loop() {
		inv, err := Load("wide.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if inv.Validate() == nil {
			b.Fatal("no findings")
		}
	}
}

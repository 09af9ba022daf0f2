package inventory

import (
	"strings"
	"testing"
)

// TestWarnings: a remote's remotePilotAddress is its primary's east-west
// gateway address, and Istio's charts only handle an IP address there.
func TestWarnings(t *testing.T) {
	const head = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
  istio: {version: 1.28.2}
networks: [{name: net1}]
clusters:
  - name: a
    network: net1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
    eastWestGateway: {address: ADDR}
`
	remote := func(name string) string {
		return "  - {name: " + name + ", network: net1, role: remote, primary: a, apiServer: 'https://203.0.113.9:6443', recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]}\n"
	}
	const msg = ` is a DNS name, and %s istiod through it (global.remotePilotAddress): Istio's primary-remote guide calls itself "not suitable" where "Load Balancers (LB) are presented as Fully Qualified Domain Names (FQDN)" (AWS EKS): the remote's istiod Service becomes an ExternalName and sidecar injection there fails; give this gateway a static IP address and write that`
	for _, tc := range []struct {
		name, addr, remotes, want string
	}{
		{"dns with a remote", "gw.example.com", remote("b"),
			`inventory.yaml:12:32: clusters[0].eastWestGateway.address: "gw.example.com"` + strings.Replace(msg, "%s", "remote b reaches", 1)},
		{"dns with remotes", "gw.example.com", remote("b") + remote("c"),
			`inventory.yaml:12:32: clusters[0].eastWestGateway.address: "gw.example.com"` + strings.Replace(msg, "%s", "remotes b, c reach", 1)},
		{"dns without remotes", "gw.example.com", "", ""},
		{"ipv4 with a remote", "203.0.113.10", remote("b"), ""},
		{"ipv6 with a remote", "2001:db8::10", remote("b"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Load("inventory.yaml", []byte(strings.Replace(head, "ADDR", tc.addr, 1)+tc.remotes))
			if err == nil {
				err = inv.Validate()
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if w := inv.Warnings(); len(w) > 0 {
				got = w.Error()
			}
			if got != tc.want {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

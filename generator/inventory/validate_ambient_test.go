package inventory

import (
	"strings"
	"testing"
)

// ambientBase is base with the ambient data plane and endpoint discovery.
var ambientBase = strings.Replace(strings.Replace(base, "  discovery: service-entries\n", "  dataplane: ambient\n", 1),
	"    eastWestGateway: {address: gw.b.example.net}\n", "    eastWestGateway: {address: gw.b.example.net}\n    apiServer: https://192.0.2.2:6443\n", 1)

// TestAmbientAccepts: what Istio's ambient multicluster does is accepted,
// with the ambient defaults applied.
func TestAmbientAccepts(t *testing.T) {
	withAPI := strings.Replace(ambientBase, "    eastWestGateway: {address: 203.0.113.10}\n", "    eastWestGateway: {address: 203.0.113.10}\n    apiServer: https://192.0.2.1:6443\n", 1)
	for name, src := range map[string]string{
		"two primaries, two networks":         withAPI,
		"exportTo naming every other cluster": withAPI + "    exportTo: [b]\n",
		"explicit port 15008":                 strings.Replace(withAPI, "{address: 203.0.113.10}", "{address: 203.0.113.10, port: 15008}", 1),
		"a named revision":                    strings.Replace(withAPI, "    version: 1.28.2\n", "    version: 1.28.2\n    revision: 1-28\n", 1),
		"Istio 1.27":                          strings.Replace(withAPI, "version: 1.28.2", "version: 1.27.0", 1),
		"one cluster": `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  dataplane: ambient
  istio: {version: 1.28.2}
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
networks: [{name: net1}]
clusters:
  - name: a
    network: net1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
`,
	} {
		inv, err := Load("inventory.yaml", []byte(src))
		if err == nil {
			err = inv.Validate()
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !inv.Mesh.Ambient() {
			t.Errorf("%s: not ambient", name)
		}
		for _, c := range inv.Clusters {
			if c.EastWestGateway != nil && c.EastWestGateway.Port != AmbientHBONEPort {
				t.Errorf("%s: cluster %s gateway port %d, want the HBONE port %d", name, c.Name, c.EastWestGateway.Port, AmbientHBONEPort)
			}
		}
	}
	inv, err := Load("inventory.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Mesh.Dataplane != DataplaneSidecar || inv.Mesh.Ambient() {
		t.Errorf("default dataplane %q, want sidecar", inv.Mesh.Dataplane)
	}
}

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"1.26.9", "1.27.0", true},
		{"1.27.0", "1.27.0", false},
		{"1.27.0-beta.1", "1.27.0", false},
		{"1.9.0", "1.27.0", true},
		{"2.0.0", "1.27.0", false},
		{"1.28.2", "1.27.0", false},
	} {
		if got := !releaseAtLeast(tc.a, tc.b); got != tc.less {
			t.Errorf("releaseAtLeast(%s, %s) = %v", tc.a, tc.b, !got)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// Each version is older than the next.
	order := []string{"1.9.0", "1.27.0-alpha.1", "1.27.0-beta.2", "1.27.0-beta.10", "1.27.0", "1.27.1", "1.28.0", "2.0.0"}
	for i, a := range order {
		for j, b := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareVersions(a, b); got != want {
				t.Errorf("CompareVersions(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// TestAmbientAcceptsSail: installer sail installs the ambient data plane
// (IstioCNI and ZTunnel beside the Istio resource).
func TestAmbientAcceptsSail(t *testing.T) {
	src := strings.Replace(ambientBase, "    version: 1.28.2\n", "    version: 1.28.2\n    installer: sail\n", 1)
	if src == ambientBase {
		t.Fatal("the base inventory no longer pins version 1.28.2")
	}
	inv, err := Load("inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// The base inventory lacks apiServers; only the installer matters here.
	if err := inv.Validate(); err != nil && strings.Contains(err.Error(), "mesh.istio.installer") {
		t.Errorf("installer sail with dataplane ambient: %v", err)
	}
}

package inventory

import (
	"os"
	"strings"
	"testing"
)

// base is a valid two-network inventory; cases edit it by string
// replacement so that every expected position is easy to check by eye.
const base = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  discovery: service-entries
  istio:
    version: 1.28.2
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
networks:
  - name: net1
  - name: net2
clusters:
  - name: a
    network: net1
    eastWestGateway: {address: 203.0.113.10}
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
  - name: b
    network: net2
    eastWestGateway: {address: gw.b.example.net}
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
services:
  - name: svc
    namespace: foo
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [a]
`

func TestLoadValid(t *testing.T) {
	inv, err := Load("inventory.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	// Defaults are applied.
	if inv.Mesh.TrustDomain != "cluster.local" || inv.Mesh.ServiceSuffix != "global" ||
		inv.Mesh.Istio.Installer != "helm" || inv.Clusters[0].Role != "primary" ||
		inv.Clusters[0].EastWestGateway.Port != 15443 || inv.Mesh.PKI.Intermediate.RenewBefore.Hours() != 720 {
		t.Errorf("defaults not applied: %+v", inv.Mesh)
	}
	if got := inv.PosOf("clusters[1].network"); got != (Pos{18, 14}) {
		t.Errorf("PosOf(clusters[1].network) = %v, want 18:14", got)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
		want string
	}{
		{"empty exportTo", repl("    clusters: [a]\n", "    clusters: [a]\n    exportTo: []\n"),
			"inventory.yaml:26:15: services[0].exportTo: is empty: omit exportTo to export svc.foo to every other cluster, or list the clusters that may call it"},
		{"unknown network", repl("network: net2", "network: netwrok2"),
			`inventory.yaml:18:14: clusters[1].network: unknown network "netwrok2" (known: net1, net2)`},
		{"unknown field with suggestion", repl("    network: net1", "    netwrk: net1"),
			`inventory.yaml:14:5: clusters[0]: unknown field "netwrk" (did you mean "network"?)`},
		{"unknown field without suggestion", repl("kind: Inventory", "kind: Inventory\nzzz: 1"),
			`inventory.yaml:3:1: unknown field "zzz" (known: apiVersion, clusters, kind, mesh, networks, services)`},
		{"wrong type", repl("version: 1.28.2", "version: [1]"),
			"inventory.yaml:7:14: mesh.istio.version: must be a string, not a list"},
		{"wrong type int", repl("{address: 203.0.113.10}", "{address: 203.0.113.10, port: http}"),
			"inventory.yaml:15:52: clusters[0].eastWestGateway.port: must be an integer, not a string"},
		{"duplicate cluster", repl("  - name: b\n", "  - name: a\n"),
			`inventory.yaml:17:11: clusters[1].name: duplicate cluster "a"`},
		{"duplicate network", repl("name: net2", "name: net1"),
			"inventory.yaml:11:11: networks[1].name: duplicate network \"net1\"\n" +
				"inventory.yaml:18:14: clusters[1].network: unknown network \"net2\" (known: net1)"},
		{"path-like cluster name", repl("name: b", "name: ../x"),
			`inventory.yaml:17:11: clusters[1].name: "../x" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`},
		{"missing east-west gateway", repl("    eastWestGateway: {address: gw.b.example.net}\n", ""),
			`inventory.yaml:17:5: clusters[1]: cluster "b" needs an eastWestGateway: the mesh spans networks net1, net2`},
		{"bad gateway address", repl("gw.b.example.net", "not an address"),
			`inventory.yaml:19:32: clusters[1].eastWestGateway.address: "not an address" is neither an IP address nor a DNS name`},
		{"unknown service cluster", repl("clusters: [a]", "clusters: [a, c]"),
			`inventory.yaml:25:19: services[0].clusters[1]: unknown cluster "c" (known: a, b)`},
		{"unknown exportTo", repl("clusters: [a]", "clusters: [a]\n    exportTo: [zz]"),
			`inventory.yaml:26:16: services[0].exportTo[0]: unknown cluster "zz" (known: a, b)`},
		{"duplicate port", repl("ports: [{name: http, port: 8080, protocol: HTTP}]", "ports: [{name: http, port: 8080, protocol: HTTP}, {name: web, port: 8080, protocol: HTTP}]"),
			`inventory.yaml:24:73: services[0].ports[1].port: duplicate port 8080`},
		{"bad protocol", repl("protocol: HTTP}", "protocol: HTTP3}"),
			`inventory.yaml:24:48: services[0].ports[0].protocol: "HTTP3" is not one of: GRPC, GRPC-WEB, HTTP, HTTP2, HTTPS, MONGO, MYSQL, REDIS, TCP, TLS, UDP`},
		{"wrong apiVersion", repl("meshgen/v1alpha1", "meshgen/v2"),
			`inventory.yaml:1:13: apiVersion: "meshgen/v2" is not supported; want "meshgen/v1alpha1"`},
		{"missing mesh id", repl("  id: mesh1\n", ""),
			"inventory.yaml:4:3: mesh.id: required field is missing"},
		{"bad version", repl("1.28.2", "latest"),
			`inventory.yaml:7:14: mesh.istio.version: "latest" is not a version such as 1.28.2`},
		{"bad installer", repl("version: 1.28.2", "version: 1.28.2\n    installer: kubectl"),
			`inventory.yaml:8:16: mesh.istio.installer: "kubectl" is not one of: helm, istioctl, sail, operator`},
		{"bad duration", repl("id: mesh1", "id: mesh1\n  pki: {intermediate: {validity: 2y}}"),
			`inventory.yaml:5:34: mesh.pki.intermediate.validity: invalid duration "2y": use Go duration syntax such as 8760h or 30m`},
		{"renewBefore too long", repl("id: mesh1", "id: mesh1\n  pki: {intermediate: {validity: 100h, renewBefore: 100h}}"),
			"inventory.yaml:5:53: mesh.pki.intermediate.renewBefore: 100h0m0s is not shorter than the intermediate validity 100h0m0s; every run would re-issue"},
		{"bad address pool", repl("id: mesh1", "id: mesh1\n  addressPool: 240.0.0.1/16"),
			`inventory.yaml:5:16: mesh.addressPool: "240.0.0.1/16" has host bits set; did you mean 240.0.0.0/16?`},
		{"bad recipient", repl("  recipients: [age1", "  recipients: [age1nope, age1"),
			`inventory.yaml:8:16: mesh.recipients[0]: "age1nope" is not an age recipient (want age1...)`},
		{"remote without primary", repl("    network: net2\n", "    network: net2\n    role: remote\n    apiServer: https://203.0.113.2:6443\n"),
			"inventory.yaml:17:5: clusters[1].primary: required field is missing"},
		{"remote of a remote", repl("    network: net2\n", "    network: net2\n    role: remote\n    primary: b\n    apiServer: https://203.0.113.2:6443\n"),
			"inventory.yaml:20:14: clusters[1].primary: a remote cannot be its own primary"},
		{"primary naming a primary", repl("    network: net2\n", "    network: net2\n    primary: a\n"),
			`inventory.yaml:19:14: clusters[1].primary: only a remote cluster names a primary; "b" is a primary`},
		{"remote across networks, primary without gateway", func(s string) string {
			s = strings.Replace(s, "    eastWestGateway: {address: 203.0.113.10}\n", "", 1)
			return strings.Replace(s, "    network: net2\n", "    network: net2\n    role: remote\n    primary: a\n    apiServer: https://203.0.113.2:6443\n", 1)
		}, "inventory.yaml:13:5: clusters[0]: cluster \"a\" needs an eastWestGateway: the mesh spans networks net1, net2\n" +
			"inventory.yaml:19:14: clusters[1].primary: primary \"a\" has no eastWestGateway to expose istiod to \"b\" through\n" +
			`inventory.yaml:27:16: services[0].clusters[0]: cluster "a" has no eastWestGateway, but b reach svc.foo through it`},
		{"address pool too small", func(s string) string {
			s = strings.Replace(s, "id: mesh1", "id: mesh1\n  addressPool: 240.0.0.0/31\n  serviceSuffix: global", 1)
			return s + "  - {name: svc2, namespace: foo, ports: [{name: tcp, port: 9000, protocol: TCP}], clusters: [b]}\n" +
				"  - {name: svc3, namespace: foo, ports: [{name: tcp, port: 9000, protocol: TCP}], clusters: [b]}\n"
		},
			"inventory.yaml:5:16: mesh.addressPool: 240.0.0.0/31 has 2 usable addresses, fewer than the 3 exported services"},
		{"remote without api server", repl("    network: net2\n", "    network: net2\n    role: remote\n    primary: a\n"),
			`inventory.yaml:17:5: clusters[1].apiServer: remote cluster "b" needs apiServer: its primary's istiod watches it through a remote secret`},
		{"bad api server", repl("    network: net1\n", "    network: net1\n    apiServer: http://10.0.0.1\n"),
			`inventory.yaml:15:16: clusters[0].apiServer: "http://10.0.0.1" is not an API server URL such as https://203.0.113.1:6443`},
		{"duplicate field", repl("kind: Inventory", "kind: Inventory\nkind: Inventory"),
			"inventory.yaml:3:1: kind: duplicate field (first set at line 2)"},
		{"merge key", repl("    network: net1\n", "    <<: {network: net1}\n"),
			"inventory.yaml:14:5: clusters[0]: merge keys (<<) are not supported; write the fields out"},
		{"serviceSuffix local", repl("id: mesh1", "id: mesh1\n  serviceSuffix: svc.cluster.local"),
			`inventory.yaml:5:18: mesh.serviceSuffix: "svc.cluster.local" would collide with Kubernetes service names (*.local); use a suffix such as global`},
		{"syntax error", repl("kind: Inventory", "kind: [Inventory"),
			"inventory.yaml:2:1: invalid YAML: did not find expected ',' or ']'"},
		{"tab indentation", repl("  id: mesh1", "\tid: mesh1"),
			"inventory.yaml:4:1: invalid YAML: found character that cannot start any token (a tab in the indentation?); indent YAML with spaces"},
		{"tab after a value", repl("  - name: net2", "\t- name: net2"),
			"inventory.yaml:11:1: invalid YAML: found a tab character that violates indentation; indent YAML with spaces"},
		{"unknown anchor", repl("clusters: [a]", "clusters: *nope"),
			"inventory.yaml:25:15: invalid YAML: alias *nope refers to no anchor &nope defined before it"},
		{"only comments", func(string) string { return "# nothing yet\n" },
			"inventory.yaml: file has no YAML content, only comments; want an Inventory document (apiVersion: meshgen/v1alpha1)"},
		{"null document", func(string) string { return "~\n" },
			"inventory.yaml:1:1: the document is null; an inventory is a mapping of apiVersion, kind, mesh, networks and clusters"},
		{"alias of the wrong type, reported where it is used", func(s string) string {
			s = strings.Replace(s, "  recipients: [age1", "  recipients: &r [age1", 1)
			return strings.Replace(s, "namespace: foo", "namespace: *r", 1)
		}, "inventory.yaml:23:16: services[0].namespace: must be a string, not a list"},
		{"secret key as recipient", func(s string) string {
			return strings.Replace(s, "[age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]", "["+testOnlySecretKey(t)+"]", 1)
		},
			"inventory.yaml:8:16: mesh.recipients[0]: this is an age secret key, not a recipient: put its public key (age-keygen -y) here, and treat the secret key as leaked"},
		{"api server with password", repl("    network: net1\n", "    network: net1\n    apiServer: https://u:hunter2@10.0.0.1\n"),
			`inventory.yaml:15:16: clusters[0].apiServer: "https://u:xxxxx@10.0.0.1" carries credentials: write the URL without them, such as https://203.0.113.1:6443, and store the token with 'meshgen credentials set'`},
		{"api server with a token in the query", repl("    network: net1\n", "    network: net1\n    apiServer: https://10.0.0.1:6443/?token=placeholder\n"),
			`inventory.yaml:15:16: clusters[0].apiServer: "https://10.0.0.1:6443/" with its query (not shown) carries credentials: write the URL without them, such as https://203.0.113.1:6443, and store the token with 'meshgen credentials set'`},
		{"NUL byte", repl("id: mesh1", "id: me\x00sh1"),
			"inventory.yaml:4:9: invalid YAML: control characters (such as NUL) are not allowed in YAML"},
		{"mesh id too long", repl("id: mesh1", "id: "+strings.Repeat("m", 248)),
			"inventory.yaml:4:7: mesh.id: 248 characters, more than the 247 a Kubernetes object name (<id>-istio) allows"},
		{"any value too long", repl("id: mesh1", "id: "+strings.Repeat("m", 800_000)),
			"inventory.yaml:4:7: mesh.id: 800000 characters, more than the 4096 any field may have"},
		{"version suffix too long", repl("version: 1.28.2", "version: 1.28.2-"+strings.Repeat("x", 200)),
			"inventory.yaml:7:14: mesh.istio.version: 207 characters, more than the 128 an image tag allows"},
		{"root name too long", repl("id: mesh1", "id: mesh1\n  pki: {root: {commonName: "+strings.Repeat("n", 65)+", organization: "+strings.Repeat("o", 1000)+"}}"),
			"inventory.yaml:5:28: mesh.pki.root.commonName: 65 characters, more than the 64 X.509 (RFC 5280 ub-common-name) allows\n" +
				"inventory.yaml:5:109: mesh.pki.root.organization: 1000 characters, more than the 64 X.509 (RFC 5280 ub-organization-name) allows"},
		{"public address pool", repl("id: mesh1", "id: mesh1\n  addressPool: 0.0.0.0/0"),
			"inventory.yaml:5:16: mesh.addressPool: 0.0.0.0/0 reaches beyond reserved address space: the VIPs handed out would shadow real destinations; use a range no one routes, such as 240.0.0.0/16 (Istio's own auto-allocation uses 240.240.0.0/16 and 2001:2::/48)"},
		{"unspecified gateway address", repl("203.0.113.10", "0.0.0.0"),
			"inventory.yaml:15:32: clusters[0].eastWestGateway.address: 0.0.0.0 is the unspecified address, which no other cluster can reach; give the address other networks reach the gateway at"},
		{"numeric gateway name", repl("203.0.113.10", "203.0.113.300"),
			`inventory.yaml:15:32: clusters[0].eastWestGateway.address: "203.0.113.300" is neither an IP address nor a DNS name`},
		{"negative root validity, no knock-on", repl("id: mesh1", "id: mesh1\n  pki: {root: {validity: -5h}}"),
			"inventory.yaml:5:26: mesh.pki.root.validity: must be a positive duration, not -5h0m0s"},
		{"empty cluster name not listed as known", func(s string) string {
			s = strings.Replace(s, "  - name: b\n", "  - name: \"\"\n", 1)
			return strings.Replace(s, "clusters: [a]", "clusters: [b]", 1)
		}, "inventory.yaml:17:11: clusters[1].name: must not be empty\n" +
			`inventory.yaml:25:16: services[0].clusters[0]: unknown cluster "b" (known: a)`},
		{"bad indentation", repl("  istio:", "   istio:"),
			"inventory.yaml:6:1: invalid YAML: mapping values are not allowed in this context"},
		{"missing recipients", func(s string) string {
			s = strings.Replace(s, "  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]\n", "", 1)
			return strings.Replace(s, "    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]\n", "", 1)
		}, "inventory.yaml:4:3: mesh.recipients: at least one operator age recipient is required: the root CA key is encrypted to it\n" +
			"inventory.yaml:12:5: clusters[0].recipients: cluster \"a\" receives encrypted secrets (cacerts) but has no age recipient: add the public key of the age identity Flux or Argo CD decrypts with in this cluster"},
		{"tcp without address pool", repl("protocol: HTTP}", "protocol: TCP}"),
			"inventory.yaml:24:48: services[0].ports[0].protocol: a TCP port needs the service to have a virtual IP (sidecars tell plain TCP services apart only by address): set mesh.addressPool, e.g. 240.240.0.0/16"},
		{"empty", func(string) string { return "\n" },
			"inventory.yaml: file is empty; want an Inventory document (apiVersion: meshgen/v1alpha1)"},
		{"two documents", func(s string) string { return s + "---\nfoo: 1\n" },
			"inventory.yaml:27:1: more than one YAML document; an inventory is one document"},
		{"not utf-8", func(s string) string { return strings.Replace(s, "mesh1", "mesh\xff", 1) },
			"inventory.yaml:4:11: file is not valid UTF-8"},
		{"every error at once, sorted", func(s string) string {
			s = strings.Replace(s, "network: net2", "network: nope", 1)
			return strings.Replace(s, "version: 1.28.2", "version: x", 1)
		}, "inventory.yaml:7:14: mesh.istio.version: \"x\" is not a version such as 1.28.2\n" +
			`inventory.yaml:18:14: clusters[1].network: unknown network "nope" (known: net1, net2)`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantEditError(t, base, tc.edit, tc.want) })
	}
}

func repl(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString(strings.ReplaceAll("aN: &aN [*aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP]\n", "N", string(rune('0'+i))))
		s := b.String()
		s = strings.ReplaceAll(s, "aP", "a"+string(rune('0'+i-1)))
		b.Reset()
		b.WriteString(s)
	}
	doc := "apiVersion: meshgen/v1alpha1\nkind: Inventory\nnetworks:\n  - name: n\nmesh:\n  recipients: *a8\n" + b.String()
	_, err := Load("bomb.yaml", []byte(doc))
	if err == nil {
		t.Fatal("alias bomb accepted")
	}
}

// FuzzLoad checks that no input makes loading or validation panic, and that
// every error carries the file name.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("apiVersion: meshgen/v1alpha1\nclusters: [{name: x, network: [1]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Load("fuzz.yaml", data)
		if err == nil {
			err = inv.Validate()
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") {
			t.Fatalf("error without file name: %v", err)
		}
	})
}

// testOnlySecretKey is the test-only operator identity of testdata/age: a
// real secret key, to check that one pasted as a recipient is refused and
// never echoed.
func testOnlySecretKey(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/age/test-only-operator.agekey")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatal("no identity in the test-only key file")
	return ""
}

// wantEditError loads and validates base as edit changes it, and requires
// exactly the error want.
func wantEditError(t *testing.T, base string, edit func(string) string, want string) {
	t.Helper()
	src := edit(base)
	if src == base {
		t.Fatal("edit changed nothing")
	}
	inv, err := Load("inventory.yaml", []byte(src))
	if err == nil {
		err = inv.Validate()
	}
	if err == nil {
		t.Fatalf("no error; want\n%s", want)
	}
	if got := err.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/inventory"
)

// Real-tool checks: every overlay of every golden scenario must build with
// the kustomize CLI, every Istio object must pass `istioctl validate`, and
// every IstioOperator must render with `istioctl manifest generate`, with
// the cluster name and network where Istio reads them.

// writeScenario writes a scenario's generated tree to a temporary directory.
func writeScenario(t *testing.T, sc scenario) (string, *Tree) {
	t.Helper()
	tree, err := Generate(sc.inv, testOptions(withCredentials(t, sc.inv, priorOf(sc.arch))))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range tree.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// Only generated files: public or SOPS-encrypted material.
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, tree
}

func TestKustomizeCLI(t *testing.T) {
	t.Parallel()
	kustomize := testtools.Find(t, "kustomize")
	for _, sc := range loadScenarios(t) {
		dir, _ := writeScenario(t, sc)
		for _, c := range sc.inv.Clusters {
			out := testtools.Run(t, dir, kustomize, "build", "overlays/"+c.Name)
			if !strings.Contains(out, "kind: Namespace") {
				t.Errorf("%s: %s: built overlay lacks the namespace:\n%s", sc.file, c.Name, out)
			}
			// Only an istiod signs workload certificates: a remote's
			// overlay holds no intermediate CA.
			remote := c.Role == inventory.RoleRemote
			if has := strings.Contains(out, "name: cacerts"); has == remote {
				t.Errorf("%s: %s (%s): built overlay has cacerts: %v, want %v", sc.file, c.Name, c.Role, has, !remote)
			}
		}
	}
}

func TestIstioctlValidate(t *testing.T) {
	t.Parallel()
	istioctl := testtools.Find(t, "istioctl")
	// Scenarios share many files byte for byte; each distinct one is
	// validated once (141 files, 70 distinct).
	validated := map[string]bool{}
	for _, sc := range loadScenarios(t) {
		dir, tree := writeScenario(t, sc)
		n := 0
		for _, f := range tree.Files {
			// Gateway API objects too: istioctl validates the ambient
			// east-west Gateway as Istio's webhook would (its schema is
			// checked against the Gateway API CRD in ambient_test.go).
			if !strings.Contains(string(f.Data), "networking.istio.io/") && !strings.Contains(string(f.Data), "gateway.networking.k8s.io/") {
				continue
			}
			n++
			if validated[string(f.Data)] {
				continue
			}
			validated[string(f.Data)] = true
			out := testtools.Run(t, dir, istioctl, "validate", "-f", f.Path)
			if strings.Contains(out, "Error") {
				t.Errorf("%s: istioctl validate %s:\n%s", sc.file, f.Path, out)
			}
		}
		if (len(sc.inv.Services) > 0 || sc.inv.MultiNetwork() && sc.inv.Mesh.Discovery == "remote-secrets") && n == 0 {
			t.Errorf("%s: no Istio networking objects validated", sc.file)
		}
	}
}

func TestIstioctlManifestGenerate(t *testing.T) {
	t.Parallel()
	istioctl := testtools.Find(t, "istioctl")
	// Scenarios share many operator files byte for byte; istioctl renders
	// each distinct one once (what it renders depends on the file only),
	// side by side.
	type scenarioDir struct {
		sc   scenario
		dir  string
		tree *Tree
	}
	var scs []scenarioDir
	type job struct{ dir, path string }
	jobs := map[string]job{}
	for _, sc := range loadScenarios(t) {
		dir, tree := writeScenario(t, sc)
		scs = append(scs, scenarioDir{sc, dir, tree})
		for _, c := range sc.inv.Clusters {
			for _, p := range []string{"overlays/" + c.Name + "/install/istio-operator.yaml", "overlays/" + c.Name + "/install/eastwest-gateway.yaml"} {
				if f := tree.Get(p); f != nil {
					jobs[string(f.Data)] = job{dir, p}
				}
			}
		}
	}
	rendered := map[string]string{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []string
	)
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for key, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			out, err := runTool(j.dir, istioctl, "manifest", "generate", "-f", j.path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
			}
			rendered[key] = string(out)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(strings.Join(errs, "\n"))
	}
	render := func(_ string, tree *Tree, p string) string { return rendered[string(tree.Get(p).Data)] }
	for _, s := range scs {
		sc, dir, tree := s.sc, s.dir, s.tree
		for _, c := range sc.inv.Clusters {
			iop := "overlays/" + c.Name + "/install/istio-operator.yaml"
			out := render(dir, tree, iop)
			// istiod's env carries the cluster name; the injector's values
			// (from which every sidecar gets its network) carry the network.
			if c.Role == "primary" {
				wantEnv(t, sc.file+": "+iop, out, "CLUSTER_ID", c.Name)
			} else {
				for _, want := range []string{`"clusterName": "` + c.Name + `"`, `"remotePilotAddress": "`} {
					if !strings.Contains(out, want) {
						t.Errorf("%s: %s: rendered remote profile lacks %s", sc.file, iop, want)
					}
				}
			}
			if !strings.Contains(out, `"network": "`+c.Network+`"`) {
				t.Errorf("%s: %s: rendered manifest does not carry network %s", sc.file, iop, c.Network)
			}
			if sc.inv.Mesh.Ambient() {
				// The ambient profile's ztunnel and istio-cni, with the
				// cluster's name and network from the same values, and
				// istiod's multi-network mode.
				wantEnv(t, sc.file+": "+iop, out, "ISTIO_META_CLUSTER_ID", c.Name)
				wantEnv(t, sc.file+": "+iop, out, "NETWORK", c.Network)
				wantEnv(t, sc.file+": "+iop, out, "AMBIENT_ENABLE_MULTI_NETWORK", "true")
				daemonSets := map[string]bool{}
				for _, doc := range splitDocs([]byte(out)) {
					var o struct {
						Kind     string
						Metadata struct{ Name string }
					}
					if yaml.Unmarshal(doc, &o) == nil && o.Kind == "DaemonSet" {
						daemonSets[o.Metadata.Name] = true
					}
				}
				for _, ds := range []string{"ztunnel", "istio-cni-node"} {
					if !daemonSets[ds] {
						t.Errorf("%s: %s: no DaemonSet %s rendered (got %v)", sc.file, iop, ds, sortedKeys(daemonSets))
					}
				}
			}
			gw := "overlays/" + c.Name + "/install/eastwest-gateway.yaml"
			if tree.Get(gw) == nil {
				continue
			}
			out = render(dir, tree, gw)
			wantEnv(t, sc.file+": "+gw, out, "ISTIO_META_REQUESTED_NETWORK_VIEW", c.Network)
			if !strings.Contains(out, "name: istio-eastwestgateway") {
				t.Errorf("%s: %s: no east-west gateway rendered", sc.file, gw)
			}
			wantGatewayPort(t, sc.file+": "+gw, out, c.EastWestGateway.Port)
		}
	}
}

// wantEnv checks that a rendered manifest sets an environment variable.
func wantEnv(t *testing.T, what, manifest, name, value string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)- name: ` + regexp.QuoteMeta(name) + `\n\s+value: "?` + regexp.QuoteMeta(value) + `"?$`)
	if !re.MatchString(manifest) {
		t.Errorf("%s: rendered manifest lacks env %s=%s", what, name, value)
	}
}

// TestIstioctlAnalyze runs `istioctl analyze` offline over every built
// overlay: no errors or warnings for the ServiceEntries, Gateways and
// VirtualServices meshgen emits.
func TestIstioctlAnalyze(t *testing.T) {
	t.Parallel()
	istioctl := testtools.Find(t, "istioctl")
	for _, sc := range loadScenarios(t) {
		dir, tree := writeScenario(t, sc)
		files := tree.Map()
		var args []string
		for _, c := range sc.inv.Clusters {
			built, err := Build(files, c.Name)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, c.Name+".built.yaml")
			if err := os.WriteFile(p, built, 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, p)
		}
		// One cluster at a time: each is its own Kubernetes API.
		for _, p := range args {
			out := testtools.Run(t, dir, istioctl, "analyze", "--use-kube=false", "-A", p)
			if !strings.Contains(out, "No validation issues found") {
				t.Errorf("%s: istioctl analyze %s:\n%s", sc.file, filepath.Base(p), out)
			}
		}
	}
}

// wantGatewayPort checks that a rendered east-west gateway Service takes
// cross-network mTLS on the inventory's port, forwarded to the proxy's
// 15443, and, on any other port than 15443, carries the label istiod reads
// to find that port (networking.istio.io/gatewayPort; without it istiod
// sees no gateway for the network).
func wantGatewayPort(t *testing.T, what, out string, port int) {
	t.Helper()
	tls := regexp.MustCompile(`(?m)^\s*- name: tls\n\s*port: (\d+)\n(?:\s*protocol: TCP\n)?\s*targetPort: 15443\n`)
	if m := tls.FindStringSubmatch(out); m == nil || m[1] != fmt.Sprint(port) {
		t.Errorf("%s: no tls port %d -> 15443 on the gateway Service (got %v)", what, port, m)
	}
	label := regexp.MustCompile(`"?networking.istio.io/gatewayPort"?: "?` + fmt.Sprint(port) + `"?\n`)
	if has := label.MatchString(out); has != (port != inventory.DefaultGatewayPort) {
		t.Errorf("%s: gatewayPort label present: %v, want %v", what, has, port != inventory.DefaultGatewayPort)
	}
}

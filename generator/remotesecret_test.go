package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/secrets"
)

// TestRemoteSecretsLoad decrypts every generated remote secret with the
// real sops binary and loads the kubeconfig inside with client-go's loader,
// as istiod does.
func TestRemoteSecretsLoad(t *testing.T) {
	sopsBin := testtools.Find(t, "sops")
	check := testtools.Find(t, "kubeconfig-check")
	key := filepath.Join(testtools.ModuleRoot(t), "testdata", "age", "test-only-cluster.agekey")
	n := 0
	for _, sc := range loadScenarios(t) {
		dir, tree := writeScenario(t, sc)
		for _, f := range tree.Files {
			if !strings.Contains(f.Path, "/remote-secrets/") {
				continue
			}
			n++
			cmd := exec.Command(sopsBin, "decrypt", filepath.Join(dir, f.Path))
			cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE="+key)
			plain, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: sops decrypt: %v", f.Path, err)
			}
			var doc secrets.Doc
			if err := yaml.Unmarshal(plain, &doc); err != nil {
				t.Fatal(err)
			}
			watched := strings.TrimSuffix(filepath.Base(f.Path), ".sops.yaml")
			c := sc.inv.Cluster(watched)
			if doc.Metadata.Name != "istio-remote-secret-"+watched || doc.Metadata.Labels["istio/multiCluster"] != "true" ||
				doc.Metadata.Annotations["networking.istio.io/cluster"] != watched {
				t.Errorf("%s: not an Istio remote secret for %s: %+v", f.Path, watched, doc.Metadata)
			}
			// The kubeconfig holds a test-only token; it lives only in
			// this test's temporary directory.
			kc := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(kc, []byte(doc.StringData[watched]), 0o600); err != nil {
				t.Fatal(err)
			}
			out := testtools.Run(t, dir, check, kc)
			for _, want := range []string{"context: " + watched, "server: " + c.APIServer, "bearer token: true"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: client-go loaded %q, want %q", f.Path, out, want)
				}
			}
			if strings.Contains(out, "ca: 0 bytes") {
				t.Errorf("%s: kubeconfig has no CA", f.Path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no remote secrets in the golden scenarios")
	}
}

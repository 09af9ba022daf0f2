package oracle

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	_ "unsafe" // go:linkname, to call pilot's own matchServiceScope

	"gopkg.in/yaml.v3"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/serviceregistry/ambient"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/kube/krt"

	"github.com/meshgen/meshgen/generator/inventory"
)

// matchServiceScope is pilot's decision whether a Service is global (shared
// with every cluster of an ambient multicluster mesh) or local, from
// meshConfig.serviceScopeConfigs and the Service's and its namespace's
// labels (pilot/pkg/serviceregistry/ambient/services.go). It is unexported;
// calling the function itself keeps this test honest when Istio changes it.
//
//go:linkname matchServiceScope istio.io/istio/pilot/pkg/serviceregistry/ambient.matchServiceScope
func matchServiceScope(ctx krt.HandlerContext, meshCfg *ambient.MeshConfig, namespaces krt.Collection[*v1.Namespace], s *v1.Service) model.ServiceScope

// TestAmbientServiceScope feeds the meshConfig of every istiod release of
// the ambient golden tree, parsed by Istio's own mesh config loader, to
// pilot's matchServiceScope: an exported Service labelled istio.io/global=true
// is global in every cluster; the same Service unlabelled, and a labelled
// Service in a namespace that holds no exported service, stay local.
func TestAmbientServiceScope(t *testing.T) {
	invData, tree, err := TreeFromTxtar("../../generator/testdata/golden/ambient-mp-two-networks.txtar")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load("inventory.yaml", invData)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Mesh.Ambient() || len(inv.Services) == 0 {
		t.Fatal("the ambient golden inventory has no ambient services")
	}
	// Namespaces as Kubernetes labels them: kubernetes.io/metadata.name.
	var nss []*v1.Namespace
	for _, name := range []string{"istio-system", "unexported"} {
		nss = append(nss, namespace(name))
	}
	for _, s := range inv.Services {
		if !slices.ContainsFunc(nss, func(n *v1.Namespace) bool { return n.Name == s.Namespace }) {
			nss = append(nss, namespace(s.Namespace))
		}
	}
	namespaces := krt.NewStaticCollection[*v1.Namespace](nil, nss)
	ctx := krt.TestingDummyContext{}

	for _, c := range inv.Clusters {
		p := "overlays/" + c.Name + "/install/istio-helmreleases.yaml"
		cfg := istiodMeshConfig(t, tree, p)
		global := map[string]string{"istio.io/global": "true"}
		for _, s := range inv.Services {
			cases := []struct {
				ns     string
				labels map[string]string
				want   model.ServiceScope
			}{
				{s.Namespace, global, model.Global},
				{s.Namespace, nil, model.Local},
				{s.Namespace, map[string]string{"istio.io/global": "false"}, model.Local},
				{"unexported", global, model.Local},
			}
			for _, tc := range cases {
				svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: tc.ns, Labels: tc.labels}}
				if got := matchServiceScope(ctx, cfg, namespaces, svc); got != tc.want {
					t.Errorf("cluster %s (%s): Service %s/%s with labels %v: pilot says %s, want %s", c.Name, p, tc.ns, s.Name, tc.labels, got, tc.want)
				}
			}
		}
	}
}

func namespace(name string) *v1.Namespace {
	return &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}}}
}

// istiodMeshConfig reads the meshConfig of the istiod HelmRelease in a
// releases file and parses it as istiod parses its mesh config.
func istiodMeshConfig(t *testing.T, tree Tree, p string) *ambient.MeshConfig {
	t.Helper()
	for _, doc := range bytes.Split(tree[p], []byte("\n---\n")) {
		var hr struct {
			Kind string
			Spec struct {
				Chart struct {
					Spec struct{ Chart string }
				}
				Values struct {
					MeshConfig yaml.Node `yaml:"meshConfig"`
				}
			}
		}
		if err := yaml.Unmarshal(doc, &hr); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if hr.Kind != "HelmRelease" || hr.Spec.Chart.Spec.Chart != "istiod" {
			continue
		}
		out, err := yaml.Marshal(&hr.Spec.Values.MeshConfig)
		if err != nil {
			t.Fatal(err)
		}
		mc, err := mesh.ApplyMeshConfigDefaults(string(out))
		if err != nil {
			t.Fatalf("%s: istiod rejects the meshConfig: %v", p, err)
		}
		if len(mc.GetServiceScopeConfigs()) == 0 || !strings.Contains(string(out), "serviceScopeConfigs") {
			t.Fatalf("%s: no serviceScopeConfigs in the istiod release", p)
		}
		return &ambient.MeshConfig{MeshConfig: mc}
	}
	t.Fatalf("%s: no istiod HelmRelease", p)
	return nil
}

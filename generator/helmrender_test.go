package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	// Flux's helm-controller post-renders with this very package (its
	// LabelTransformerPlugin); the proof must do what Flux does.
	//lint:ignore SA1019 deprecated only for kustomize API v1, which Flux does not use yet
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/internal/testtools"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// The delivery proof: every HelmRelease meshgen emits, in every golden tree
// and in the checked-in example, is installed the way Flux and Argo CD
// install it, from Istio's real charts (the istio.io/istio module sim/go.mod
// pins). A release that helm cannot render, that Flux's post-renderer rejects
// or that kustomize's Helm support cannot parse fails with its tree, cluster
// and name. docs/testing.md says what each step reproduces.

// istioChartDirs maps the chart names of Istio's Helm repository to their
// directories under manifests/charts of the istio.io/istio module.
var istioChartDirs = map[string]string{
	"base":    "base",
	"istiod":  "istio-control/istio-discovery",
	"gateway": "gateway",
	"cni":     "istio-cni",
	"ztunnel": "ztunnel",
}

// deliveryTree is one generated tree: a golden scenario or the example.
type deliveryTree struct {
	name  string
	inv   *inventory.Inventory
	files map[string][]byte
}

// deliveryTrees are the golden trees as committed, and the example tree at
// the module root as committed: the proof is about the bytes users apply.
func deliveryTrees(t *testing.T) []deliveryTree {
	t.Helper()
	var out []deliveryTree
	for _, sc := range loadScenarios(t) {
		out = append(out, deliveryTree{name: sc.file, inv: sc.inv, files: priorOf(sc.arch)})
	}
	// Every revision layout a canary upgrade passes through.
	out = append(out, upgradeStepTrees(t)...)
	root := testtools.ModuleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "inventory.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load("inventory.example.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, dir := range []string{"overlays", "flux", ArgoCDDir} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if os.IsNotExist(err) && p == filepath.Join(root, dir) {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return append(out, deliveryTree{name: "example tree (inventory.example.yaml)", inv: inv, files: files})
}

// fluxRelease is what helm-controller reads of a HelmRelease to install it.
type fluxRelease struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ReleaseName     string `json:"releaseName"`
		TargetNamespace string `json:"targetNamespace"`
		Chart           struct {
			Spec struct {
				Chart   string `json:"chart"`
				Version string `json:"version"`
			} `json:"spec"`
		} `json:"chart"`
		Install *struct {
			CRDs string `json:"crds"`
		} `json:"install"`
		Upgrade *struct {
			CRDs string `json:"crds"`
		} `json:"upgrade"`
		Values map[string]any `json:"values"`
	} `json:"spec"`
}

// release and namespace are helm-controller's: the release is installed
// into targetNamespace, else the HelmRelease's namespace, under releaseName,
// else [targetNamespace-]name.
func (r *fluxRelease) release() (name, namespace string) {
	namespace = r.Metadata.Namespace
	if r.Spec.TargetNamespace != "" {
		namespace = r.Spec.TargetNamespace
	}
	name = r.Spec.ReleaseName
	if name == "" {
		name = r.Metadata.Name
		if r.Spec.TargetNamespace != "" {
			name = r.Spec.TargetNamespace + "-" + name
		}
	}
	return name, namespace
}

// fluxPostRender is what helm-controller's post-rendering does to every
// release it installs or upgrades, even one without spec.postRenderers
// (fluxcd/helm-controller internal/postrender: BuildPostRenderers always
// appends the origin-labels renderer, transform() in transformer.go): the
// rendered manifests are read into a kustomize ResMap (kyaml, which rejects
// a mapping key written twice), labelled by the builtin LabelTransformer
// with helm.toolkit.fluxcd.io/name and /namespace, and written back.
func fluxPostRender(rendered []byte, hrNamespace, hrName string) ([]byte, error) {
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	rm, err := resmap.NewFactory(rf).NewResMapFromBytes(rendered)
	if err != nil {
		return nil, err
	}
	labels := &builtins.LabelTransformerPlugin{
		Labels: map[string]string{
			"helm.toolkit.fluxcd.io/name":      hrName,
			"helm.toolkit.fluxcd.io/namespace": hrNamespace,
		},
		FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}},
	}
	if err := labels.Transform(rm); err != nil {
		return nil, err
	}
	return rm.AsYaml()
}

// helmTemplate renders chart as helm-controller installs it: the release
// name and namespace, and exactly the HelmRelease's values.
func helmTemplate(helm, dir, chart, release, namespace string, values map[string]any) ([]byte, error) {
	data, err := yaml.Marshal(values)
	if err != nil {
		return nil, err
	}
	vf := filepath.Join(dir, release+".values.yaml")
	if err := os.WriteFile(vf, data, 0o644); err != nil {
		return nil, err
	}
	return runTool(dir, helm, "template", release, chart, "--namespace", namespace, "-f", vf)
}

// runTool runs a tool offline and returns its stdout; a failure carries
// its stderr.
func runTool(dir, tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null", "HOME="+dir, "HELM_CACHE_HOME="+filepath.Join(dir, ".helm"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, ".helm"), "HELM_DATA_HOME="+filepath.Join(dir, ".helm"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// argoChartKustomization is the kustomization Argo CD builds for release:
// the one meshgen wrote under argocd/ where the tree delivers with Argo CD,
// else the same helmCharts entry argoCharts would write for it.
func argoChartKustomization(tr deliveryTree, cluster, repo string, hr *fluxRelease) ([]byte, error) {
	release, namespace := hr.release()
	p := path.Join(ArgoStageDir(cluster, installStage), release, "kustomization.yaml")
	if data, ok := tr.files[p]; ok {
		return data, nil
	}
	if tr.inv.Mesh.GitOps != nil && tr.inv.Mesh.GitOps.ArgoCD != nil {
		return nil, fmt.Errorf("%s is missing although the tree delivers with Argo CD", p)
	}
	return yaml.Marshal(&ArgoKustomization{
		TypeMeta:  TypeMeta{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"},
		Resources: []string{},
		HelmCharts: []KustomizeChart{{
			Name:         hr.Spec.Chart.Spec.Chart,
			Repo:         repo,
			Version:      hr.Spec.Chart.Spec.Version,
			ReleaseName:  release,
			Namespace:    namespace,
			IncludeCRDs:  true,
			ValuesInline: hr.Spec.Values,
		}},
	})
}

// kustomizeHelmBuild runs `kustomize build --enable-helm`, as Argo CD does,
// on a chart kustomization, with Istio's chart where kustomize would have
// pulled it (charts/<name>-<version>/<name>), so nothing is fetched.
func kustomizeHelmBuild(kustomize, helm, dir, charts string, kustomization []byte) ([]byte, error) {
	var k ArgoKustomization
	if err := yaml.UnmarshalStrict(kustomization, &k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), kustomization, 0o644); err != nil {
		return nil, err
	}
	for _, ch := range k.HelmCharts {
		src, ok := istioChartDirs[ch.Name]
		if !ok {
			return nil, fmt.Errorf("chart %q is none of Istio's charts %v", ch.Name, sortedKeys(istioChartDirs))
		}
		home := filepath.Join(dir, "charts")
		if ch.Version != "" && ch.Repo != "" {
			home = filepath.Join(home, ch.Name+"-"+ch.Version)
		}
		if err := os.CopyFS(filepath.Join(home, ch.Name), os.DirFS(filepath.Join(charts, src))); err != nil {
			return nil, err
		}
	}
	return runTool(dir, kustomize, "build", "--enable-helm", "--helm-command", helm, ".")
}

// TestHelmReleasesDeliver is the delivery proof over every HelmRelease of
// every tree.
func TestHelmReleasesDeliver(t *testing.T) {
	t.Parallel()
	helm := testtools.Find(t, "helm")
	kustomize := testtools.Find(t, "kustomize")
	charts := istioCharts(t)
	releases := 0
	cache := &renderCache{results: map[string]*renderResult{}}
	// Releases render side by side (helm and kustomize are separate
	// processes); each distinct rendering runs once.
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, tr := range deliveryTrees(t) {
		for _, p := range sortedKeys(tr.files) {
			if !strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".sops.yaml") {
				continue
			}
			docs := splitDocs(tr.files[p])
			repo := ""
			for _, doc := range docs {
				var r struct {
					Kind string
					Spec struct{ URL string }
				}
				if yaml.Unmarshal(doc, &r) == nil && r.Kind == "HelmRepository" {
					repo = r.Spec.URL
				}
			}
			for _, doc := range docs {
				var hr fluxRelease
				if err := yaml.Unmarshal(doc, &hr); err != nil {
					t.Errorf("%s: %s: %v", tr.name, p, err)
					continue
				}
				if hr.Kind != "HelmRelease" {
					continue
				}
				cluster := clusterOfPath(p)
				what := fmt.Sprintf("%s: cluster %s: HelmRelease %s/%s (%s)", tr.name, cluster, hr.Metadata.Namespace, hr.Metadata.Name, p)
				releases++
				wg.Add(1)
				go func() {
					defer wg.Done()
					slots <- struct{}{}
					defer func() { <-slots }()
					deliverRelease(t, cache, what, tr, cluster, repo, &hr, helm, kustomize, charts)
				}()
			}
		}
	}
	wg.Wait()
	if releases == 0 {
		t.Fatal("no HelmRelease in any tree")
	}
	t.Logf("%d HelmReleases rendered through Flux's post-renderer and kustomize --enable-helm (%d distinct renderings)", releases, cache.runs)
}

func clusterOfPath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 1 && (parts[0] == "overlays" || parts[0] == ArgoCDDir) {
		return parts[1]
	}
	if len(parts) == 2 && parts[0] == "flux" {
		return strings.TrimSuffix(parts[1], ".yaml")
	}
	return "?"
}

// deliverRelease renders one release both ways and checks what Istio reads
// of the result.
func deliverRelease(t *testing.T, cache *renderCache, what string, tr deliveryTree, cluster, repo string, hr *fluxRelease, helm, kustomize, charts string) {
	t.Helper()
	src, ok := istioChartDirs[hr.Spec.Chart.Spec.Chart]
	if !ok {
		t.Errorf("%s: chart %q is none of Istio's charts %v", what, hr.Spec.Chart.Spec.Chart, sortedKeys(istioChartDirs))
		return
	}
	// helm-controller's install/upgrade crds policy acts on the chart's
	// crds/ directory only. Istio's charts template their CRDs
	// (base/templates/crds.yaml, upgraded like any other object), so a
	// policy there would claim a management that never happens.
	if _, err := os.Stat(filepath.Join(charts, src, "crds")); os.IsNotExist(err) {
		for _, pol := range []struct {
			field string
			set   bool
		}{{"spec.install.crds", hr.Spec.Install != nil && hr.Spec.Install.CRDs != ""}, {"spec.upgrade.crds", hr.Spec.Upgrade != nil && hr.Spec.Upgrade.CRDs != ""}} {
			if pol.set {
				t.Errorf("%s: %s is set, but chart %s has no crds/ directory: the policy does nothing", what, pol.field, hr.Spec.Chart.Spec.Chart)
			}
		}
	}
	release, namespace := hr.release()
	values, err := json.Marshal(hr.Spec.Values)
	if err != nil {
		t.Error(err)
		return
	}
	flux := cache.do("flux\x00"+strings.Join([]string{src, release, namespace, hr.Metadata.Namespace, hr.Metadata.Name}, "\x00")+"\x00"+string(values), func() ([]byte, error) {
		rendered, err := helmTemplate(helm, t.TempDir(), filepath.Join(charts, src), release, namespace, hr.Spec.Values)
		if err != nil {
			return nil, fmt.Errorf("helm cannot render chart %s: %v", hr.Spec.Chart.Spec.Chart, err)
		}
		out, err := fluxPostRender(rendered, hr.Metadata.Namespace, hr.Metadata.Name)
		if err != nil {
			return nil, fmt.Errorf("chart %s rendered, but Flux helm-controller's post-renderer rejects it: %v", hr.Spec.Chart.Spec.Chart, err)
		}
		return out, nil
	})
	if flux.err != nil {
		t.Errorf("%s: %v", what, flux.err)
	} else {
		checkRendered(t, what+" via Flux", tr, cluster, hr, flux.out)
	}
	k, err := argoChartKustomization(tr, cluster, repo, hr)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	argo := cache.do("argo\x00"+string(k), func() ([]byte, error) {
		out, err := kustomizeHelmBuild(kustomize, helm, t.TempDir(), charts, k)
		if err != nil {
			return nil, fmt.Errorf("kustomize build --enable-helm (Argo CD) fails: %v", err)
		}
		return out, nil
	})
	if argo.err != nil {
		t.Errorf("%s: %v", what, argo.err)
		return
	}
	checkRendered(t, what+" via kustomize --enable-helm", tr, cluster, hr, argo.out)
}

// renderCache remembers renderings by their complete input (chart, release
// name and namespace, HelmRelease name and namespace, values; or the whole
// chart kustomization): clusters with the same base release render once.
// helm and kustomize are deterministic, so a hit stands for a run.
// Safe for concurrent use: a second caller of a key waits for the first.
type renderCache struct {
	mu      sync.Mutex
	results map[string]*renderResult
	runs    int
}

type renderResult struct {
	once sync.Once
	out  []byte
	err  error
}

func (c *renderCache) do(key string, render func() ([]byte, error)) *renderResult {
	c.mu.Lock()
	r, ok := c.results[key]
	if !ok {
		r = &renderResult{}
		c.results[key] = r
		c.runs++
	}
	c.mu.Unlock()
	r.once.Do(func() { r.out, r.err = render() })
	return r
}

// checkRendered checks what Istio needs of a rendered release: istiod runs
// with the cluster's name and network; the east-west gateway's Service and
// pods carry the cluster's network (istiod finds network gateways by that
// Service label), its pods ask for their network's view, carry the
// selector the cross-network Gateway uses, and the Service has the
// inventory's gateway port (15443 by default; another one labelled for
// istiod).
func checkRendered(t *testing.T, what string, tr deliveryTree, cluster string, hr *fluxRelease, manifests []byte) {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(manifests), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Errorf("%s: rendered output does not parse: %v", what, err)
		return
	}
	if len(nodes) == 0 {
		t.Errorf("%s: chart rendered no objects", what)
		return
	}
	c := tr.inv.Cluster(cluster)
	if c == nil {
		t.Errorf("%s: no cluster %q in the inventory", what, cluster)
		return
	}
	switch hr.Spec.Chart.Spec.Chart {
	case "istiod":
		// The same cluster name and network as the IstioOperator path: a
		// primary's istiod runs as CLUSTER_ID, a remote's injector values
		// carry its clusterName.
		if c.Role == inventory.RolePrimary {
			wantEnv(t, what, string(manifests), "CLUSTER_ID", c.Name)
		} else if !bytes.Contains(manifests, []byte(`"clusterName": "`+c.Name+`"`)) {
			t.Errorf("%s: rendered remote values lack clusterName %s", what, c.Name)
		}
		if !bytes.Contains(manifests, []byte(`"network": "`+c.Network+`"`)) {
			t.Errorf("%s: rendered values lack network %s", what, c.Network)
		}
		if tr.inv.Mesh.Ambient() {
			checkAmbientIstiod(t, what, tr, nodes, string(manifests))
		}
		return
	case "cni":
		// The ambient profile turns on the node agent's ambient mode.
		for _, n := range nodes {
			if n.GetKind() == "ConfigMap" {
				if v, _ := n.GetString("data.AMBIENT_ENABLED"); v == "true" {
					return
				}
			}
		}
		t.Errorf("%s: no ConfigMap with AMBIENT_ENABLED=true: the cni chart does not run in ambient mode", what)
		return
	case "ztunnel":
		// ztunnel must name the same cluster as istiod (or istiod refuses
		// its certificate requests) and its network.
		wantEnv(t, what, string(manifests), "ISTIO_META_CLUSTER_ID", c.Name)
		wantEnv(t, what, string(manifests), "NETWORK", c.Network)
		return
	case "gateway":
	default:
		return
	}
	wantEnv(t, what, string(manifests), requestedNetworkViewEnvName, c.Network)
	var svc, dep *kyaml.RNode
	for _, n := range nodes {
		switch n.GetKind() {
		case "Service":
			svc = n
		case "Deployment":
			dep = n
		}
	}
	if svc == nil || dep == nil {
		t.Errorf("%s: gateway chart rendered no Service or Deployment", what)
		return
	}
	if got := svc.GetLabels()[NetworkLabel]; got != c.Network {
		t.Errorf("%s: Service %s has %s=%q, want the cluster's network %q", what, svc.GetName(), NetworkLabel, got, c.Network)
	}
	pod, err := dep.Pipe(kyaml.Lookup("spec", "template", "metadata", "labels"))
	if err != nil || pod == nil {
		t.Errorf("%s: Deployment has no pod labels: %v", what, err)
		return
	}
	podLabels, _ := pod.Map()
	if got := podLabels[NetworkLabel]; got != c.Network {
		t.Errorf("%s: gateway pods have %s=%v, want %q", what, NetworkLabel, got, c.Network)
	}
	if got := podLabels["istio"]; got != "eastwestgateway" {
		t.Errorf("%s: gateway pods have istio=%v, want eastwestgateway (the cross-network Gateway's selector)", what, got)
	}
	ports, _ := svc.Pipe(kyaml.Lookup("spec", "ports"))
	var numbers []string
	if ports != nil {
		for _, p := range ports.Content() {
			if v := kyaml.NewRNode(p).Field("port"); v != nil {
				numbers = append(numbers, v.Value.YNode().Value)
			}
		}
	}
	sort.Strings(numbers)
	// The inventory's gateway port (15443 unless it says otherwise) is
	// where other networks connect; on any other port istiod finds it only
	// through the networking.istio.io/gatewayPort label.
	port := fmt.Sprint(c.EastWestGateway.Port)
	if !strings.Contains(" "+strings.Join(numbers, " ")+" ", " "+port+" ") {
		t.Errorf("%s: Service ports %v lack %s", what, numbers, port)
	}
	if got, want := svc.GetLabels()[gatewayPortLabel], port; port != "15443" && got != want {
		t.Errorf("%s: Service %s has %s=%q, want %q", what, svc.GetName(), gatewayPortLabel, got, want)
	}
}

// checkAmbientIstiod checks an ambient istiod release as rendered: ambient
// and its multi-network mode on, and the mesh config istiod reads (the
// istio ConfigMap) holding meshgen's serviceScopeConfigs, which replace
// the ambient profile's: Services labelled istio.io/global=true in the
// exported services' namespaces, and nothing else, are global.
func checkAmbientIstiod(t *testing.T, what string, tr deliveryTree, nodes []*kyaml.RNode, manifests string) {
	t.Helper()
	wantEnv(t, what, manifests, "PILOT_ENABLE_AMBIENT", "true")
	wantEnv(t, what, manifests, "AMBIENT_ENABLE_MULTI_NETWORK", "true")
	var namespaces []string
	for _, s := range tr.inv.Services {
		if !slices.Contains(namespaces, s.Namespace) {
			namespaces = append(namespaces, s.Namespace)
		}
	}
	slices.Sort(namespaces)
	for _, n := range nodes {
		if n.GetKind() != "ConfigMap" || !strings.HasPrefix(n.GetName(), "istio") {
			continue
		}
		mesh, err := n.GetString("data.mesh")
		if err != nil || mesh == "" {
			continue
		}
		var mc struct {
			ServiceScopeConfigs []struct {
				NamespaceSelector *struct {
					MatchExpressions []struct {
						Key, Operator string
						Values        []string
					} `json:"matchExpressions"`
				} `json:"namespaceSelector"`
				ServicesSelector struct {
					MatchExpressions []struct {
						Key, Operator string
						Values        []string
					} `json:"matchExpressions"`
				} `json:"servicesSelector"`
				Scope string
			} `json:"serviceScopeConfigs"`
		}
		if err := yaml.Unmarshal([]byte(mesh), &mc); err != nil {
			t.Errorf("%s: ConfigMap %s mesh: %v", what, n.GetName(), err)
			return
		}
		sc := mc.ServiceScopeConfigs
		if len(namespaces) == 0 {
			return // the profile's own entry stays
		}
		if len(sc) != 1 || sc[0].Scope != "GLOBAL" || sc[0].NamespaceSelector == nil ||
			len(sc[0].NamespaceSelector.MatchExpressions) != 1 || len(sc[0].ServicesSelector.MatchExpressions) != 1 {
			t.Errorf("%s: ConfigMap %s: serviceScopeConfigs %+v, want meshgen's one GLOBAL entry in place of the profile's", what, n.GetName(), sc)
			return
		}
		ns, svc := sc[0].NamespaceSelector.MatchExpressions[0], sc[0].ServicesSelector.MatchExpressions[0]
		if ns.Key != "kubernetes.io/metadata.name" || ns.Operator != "In" || !slices.Equal(ns.Values, namespaces) {
			t.Errorf("%s: namespaceSelector %+v, want kubernetes.io/metadata.name In %v", what, ns, namespaces)
		}
		if svc.Key != GlobalServiceLabel || svc.Operator != "In" || !slices.Equal(svc.Values, []string{"true"}) {
			t.Errorf("%s: servicesSelector %+v, want %s In [true]", what, svc, GlobalServiceLabel)
		}
		return
	}
	t.Errorf("%s: no istio ConfigMap with mesh config", what)
}

// TestFluxPostRenderRejectsDuplicateKeys shows that the reproduction of
// Flux's post-renderer fails the way helm-controller does on a manifest
// with a mapping key written twice, which helm itself renders happily.
func TestFluxPostRenderRejectsDuplicateKeys(t *testing.T) {
	dup := []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: gw\n  labels:\n    topology.istio.io/network: \"n1\"\n    topology.istio.io/network: \"n1\"\n")
	_, err := fluxPostRender(dup, "istio-system", "gw")
	if err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("post-render of a duplicated key: got %v, want a mapping-key error", err)
	}
	out, err := fluxPostRender(dup[:bytes.LastIndex(dup, []byte("    topology"))], "istio-system", "gw")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("helm.toolkit.fluxcd.io/name: gw")) || !bytes.Contains(out, []byte("helm.toolkit.fluxcd.io/namespace: istio-system")) {
		t.Errorf("post-rendered manifest lacks Flux's origin labels:\n%s", out)
	}
}

// sailProfileValues are the values the Sail operator (1.30.3) merges under
// an Istio resource's spec.values from its own profiles
// (resources/<version>/profiles/*.yaml, ApplyProfilesAndPlatform): its
// default profile on Kubernetes, then the resource's spec.profile.
func sailProfileValues(profile string) map[string]any {
	v := map[string]any{
		"defaultRevision": "",
		"global":          map[string]any{"istioNamespace": "istio-system", "configValidation": true},
		"ztunnel":         map[string]any{"resourceName": "ztunnel"},
	}
	// Sail's remote and ambient profiles are the chart's own
	// (resources/<version>/profiles/{remote,ambient}.yaml: values.profile).
	if profile == "remote" || profile == "ambient" {
		v["profile"] = profile
	}
	return v
}

// mergeValues merges over into base as Helm merges values files: maps
// key by key, everything else replaced.
func mergeValues(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// TestSailRendersLikeHelmReleases is the delivery proof of installer sail:
// the Sail operator installs istiod by rendering Istio's istiod chart with
// an Istio resource's values, its profiles' values beneath, and the
// values it overrides (values.revision from the resource's name, ""
// for default; global.istioNamespace from spec.namespace; defaultRevision
// cleared). Rendered with the pinned chart, every Istio resource of every
// Sail tree must give exactly the objects the helm installer's istiod
// release of the same cluster and revision gives, less the revision tags'
// webhooks, which Sail installs from the IstioRevisionTags; those must
// name the same tags.
func TestSailRendersLikeHelmReleases(t *testing.T) {
	t.Parallel()
	helm := testtools.Find(t, "helm")
	charts := filepath.Join(istioCharts(t), istioChartDirs["istiod"])
	rendered := 0
	for _, tr := range sailTrees(t) {
		helmReleasesOf := helmInstallerOf(tr.inv)
		for _, c := range tr.inv.Clusters {
			what := fmt.Sprintf("%s: cluster %s", tr.name, c.Name)
			istiods := map[string]*HelmRelease{}
			for _, hr := range helmReleasesOf(c.Name) {
				if hr.Spec.Chart.Spec.Chart == "istiod" {
					istiods[hr.Spec.Values.(istiodChartValues).Revision] = hr
				}
			}
			var istios []*SailResource
			tags := map[string][]string{} // Istio name -> tags targeting it
			for _, d := range splitDocs(tr.files[StageDir(c.Name, installStage)+"/"+sailFile]) {
				var r SailResource
				if err := yaml.Unmarshal(d, &r); err != nil {
					t.Fatal(err)
				}
				switch r.Kind {
				case "Istio":
					istios = append(istios, &r)
				case "IstioRevisionTag":
					tags[r.Spec.TargetRef.Name] = append(tags[r.Spec.TargetRef.Name], r.Metadata.Name)
				}
			}
			if len(istios) != len(istiods) {
				t.Errorf("%s: %d Istio resources, but the helm installer releases %d istiods", what, len(istios), len(istiods))
			}
			for _, is := range istios {
				rev := sailRevisionOf(is)
				hr := istiods[rev]
				if hr == nil {
					t.Errorf("%s: Sail installs revision %q from Istio %s; the helm installer has no istiod of that revision", what, rev, is.Metadata.Name)
					continue
				}
				// Sail's side, from the bytes in the tree.
				var spec struct {
					Spec struct {
						Namespace string         `json:"namespace"`
						Profile   string         `json:"profile"`
						Values    map[string]any `json:"values"`
					} `json:"spec"`
				}
				raw, _ := yaml.Marshal(is)
				if err := yaml.Unmarshal(raw, &spec); err != nil {
					t.Fatal(err)
				}
				sail := mergeValues(sailProfileValues(spec.Spec.Profile), spec.Spec.Values)
				sail = mergeValues(sail, map[string]any{"revision": rev, "global": map[string]any{"istioNamespace": spec.Spec.Namespace}})
				delete(sail, "defaultRevision")
				// The helm installer's side, without the tags' webhooks.
				hv := hr.Spec.Values.(istiodChartValues)
				helmTags := hv.RevisionTags
				hv.RevisionTags = nil
				var helmValues map[string]any
				raw, _ = json.Marshal(hv)
				if err := json.Unmarshal(raw, &helmValues); err != nil {
					t.Fatal(err)
				}
				got := slices.Sorted(slices.Values(tags[is.Metadata.Name]))
				if !slices.Equal(got, helmTags) {
					t.Errorf("%s: IstioRevisionTags %v target Istio %s; the helm installer's istiod %s carries revisionTags %v", what, got, is.Metadata.Name, hr.Metadata.Name, helmTags)
				}
				dir := t.TempDir()
				fromSail, err := helmTemplate(helm, dir, charts, "istiod", IstioNamespace, sail)
				if err != nil {
					t.Errorf("%s: Istio %s: %v", what, is.Metadata.Name, err)
					continue
				}
				fromHelm, err := helmTemplate(helm, t.TempDir(), charts, "istiod", IstioNamespace, helmValues)
				if err != nil {
					t.Errorf("%s: HelmRelease %s: %v", what, hr.Metadata.Name, err)
					continue
				}
				rendered++
				fromSail, fromHelm = withoutValuesRecord(t, fromSail), withoutValuesRecord(t, fromHelm)
				if !bytes.Equal(fromSail, fromHelm) {
					a, b := strings.Split(string(fromSail), "\n"), strings.Split(string(fromHelm), "\n")
					i := 0
					for i < len(a) && i < len(b) && a[i] == b[i] {
						i++
					}
					t.Errorf("%s: Istio %s renders other istiod objects than HelmRelease %s; first difference at line %d:\nSail: %q\nhelm: %q", what, is.Metadata.Name, hr.Metadata.Name, i+1, at(a, i), at(b, i))
				}
			}
		}
	}
	if rendered == 0 {
		t.Fatal("no Istio resource rendered")
	}
	t.Logf("%d Istio resources render exactly the istiod objects of their helm installer release", rendered)
}

// helmInstallerOf returns the HelmReleases the helm installer would give
// each cluster of inv, whatever inv's installer: what the Sail resources
// are held to.
func helmInstallerOf(inv *inventory.Inventory) func(cluster string) []*HelmRelease {
	helmInv := *inv
	helmInv.Mesh.Istio.Installer = inventory.InstallerHelm
	g := &gen{inv: &helmInv, topo: topology.New(&helmInv), opts: testOptions(nil)}
	return func(cluster string) []*HelmRelease {
		return g.helmReleases(g.installOf(helmInv.Cluster(cluster))).releases
	}
}

// withoutValuesRecord drops the istiod chart's record of its values (the
// ConfigMap values[-<rev>], "rendered for debugging purposes and external
// tooling; modifying these values has no effect"): Sail hands the chart
// some defaults explicitly, and a ztunnel.resourceName no istiod template
// reads, which changes that record and nothing else.
func withoutValuesRecord(t *testing.T, manifests []byte) []byte {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(manifests), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatal(err)
	}
	var kept []*kyaml.RNode
	for _, n := range nodes {
		if n.GetKind() == "ConfigMap" && strings.Contains(n.GetAnnotations()["kubernetes.io/description"], "modifying these values has no effect") {
			continue
		}
		kept = append(kept, n)
	}
	if len(kept) == len(nodes) {
		t.Fatal("the istiod chart rendered no values record: the comparison's exception is stale")
	}
	var out bytes.Buffer
	if err := (kio.ByteWriter{Writer: &out}).Write(kept); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end)"
}

package oracle

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/inventory"
)

// cluster is what the tree says about one cluster, as its API server would
// hold it, plus the inventory facts the tree cannot say (where workloads run,
// the load balancer address of its east-west gateway).
type cluster struct {
	name    string
	index   int
	inv     *inventory.Cluster
	objects []*resource.Resource // the built overlay

	// From the tree's istiod install values.
	hasValues          bool
	network            string
	clusterName        string
	remote             bool   // profile remote: no istiod runs here
	remotePilotAddress string // where a remote's sidecars find istiod
	meshConfig         map[string]any
	// env is istiod's environment as the chart sets it from the values
	// (pilot.env, env, and what the chart's profile adds).
	env map[string]string

	// What the tree installs for ambient in this cluster: istio-cni with
	// ambient redirection, and ztunnel.
	cni, ztunnel bool

	// watches are the clusters this cluster's istiod holds remote secrets for.
	watches []string

	// gateway is the east-west gateway the tree installs here, or nil.
	gateway *gateway

	// clientIP is the address of the simulated calling pod.
	clientIP string

	// workloads are the synthetic pods of the exported services that run here.
	workloads []workload
}

// gateway is an installed east-west gateway.
type gateway struct {
	name           string
	labels         map[string]string
	requestedViews []string
	address        string // inventory address: IP or DNS name
	port           int    // inventory port (the load balancer's)
	ip             string // address, or what the simulated DNS resolves it to
	podIP          string
	// ambient is the Gateway API east-west gateway (class istio-east-west)
	// the overlay applies, for ambient; nil for a sidecar east-west gateway.
	ambient *resource.Resource
}

// world is the whole fleet as the simulation sees it.
type world struct {
	inv      *inventory.Inventory
	tree     Tree
	clusters map[string]*cluster
	order    []string
	// resolve maps gateway DNS names to the addresses the simulated
	// resolver answers.
	resolve map[string]string
	// owner maps every synthetic IP to what it stands for.
	owner map[string]owner
}

type owner struct {
	cluster string
	gateway bool // the east-west gateway's load balancer address
	pod     bool // a workload pod
}

func newWorld(inv *inventory.Inventory, tree Tree) (*world, error) {
	w := &world{inv: inv, tree: tree, clusters: map[string]*cluster{}, resolve: map[string]string{}, owner: map[string]owner{}}
	for i := range inv.Clusters {
		ic := &inv.Clusters[i]
		c := &cluster{name: ic.Name, index: i, inv: ic}
		objs, err := tree.Build(ic.Name)
		if err != nil {
			return nil, fmt.Errorf("kustomize build overlays/%s: %v", ic.Name, err)
		}
		if objs != nil {
			c.objects = objs.Resources()
		}
		if err := c.readValues(tree); err != nil {
			return nil, err
		}
		c.readWatches()
		if err := c.readGateway(tree, w); err != nil {
			return nil, err
		}
		w.clusters[c.name] = c
		w.order = append(w.order, c.name)
	}
	return w, nil
}

// istiodFor returns the cluster whose istiod serves the sidecars of c, or nil.
func (w *world) istiodFor(c *cluster) *cluster {
	if !c.hasValues {
		return nil
	}
	if !c.remote {
		return c
	}
	for _, name := range w.order {
		p := w.clusters[name]
		if p.remote || !p.hasValues || p.gateway == nil {
			continue
		}
		if p.gateway.address == c.remotePilotAddress || p.gateway.ip == c.remotePilotAddress {
			return p
		}
	}
	return nil
}

// readValues finds the istiod install values: the istiod HelmRelease the
// overlay applies, or else the IstioOperator file istioctl installs from.
// The values are what the istiod chart renders from: the chart's profile
// (values.profile, or the IstioOperator profile's) under the tree's values,
// merged as the chart merges them.
func (c *cluster) readValues(t Tree) error {
	var values map[string]any
	profile := ""
	releases, err := c.helmReleases("istiod")
	if err != nil {
		return err
	}
	for _, m := range releases {
		values, _ = dig(m, "spec", "values").(map[string]any)
		if values == nil {
			values = map[string]any{}
		}
		profile = str(values, "profile")
	}
	iop, sail := false, false
	if values == nil {
		// Installer sail: the Sail operator renders the same istiod chart
		// from the Istio resource's values and profile.
		if m, err := c.sailIstio(); err != nil {
			return err
		} else if m != nil {
			sail = true
			values, _ = dig(m, "spec", "values").(map[string]any)
			if values == nil {
				values = map[string]any{}
			}
			profile = str(m, "spec", "profile")
			// Sail's ambient and remote profiles select the chart profile of
			// the same name (resources/<version>/profiles/*.yaml).
			if (profile == "ambient" || profile == "remote") && str(values, "profile") == "" {
				values["profile"] = profile
			}
		}
	}
	if values == nil {
		for _, d := range t.docs("overlays/" + c.name + "/install/istio-operator.yaml") {
			var m map[string]any
			if err := yaml.Unmarshal(d, &m); err != nil {
				return fmt.Errorf("overlays/%s/install/istio-operator.yaml: %v", c.name, err)
			}
			if m["kind"] != "IstioOperator" {
				continue
			}
			iop = true
			values, _ = dig(m, "spec", "values").(map[string]any)
			if values == nil {
				values = map[string]any{}
			}
			// istioctl hands spec.meshConfig to the charts as values.meshConfig.
			if mc, ok := dig(m, "spec", "meshConfig").(map[string]any); ok {
				values["meshConfig"] = mc
			}
			profile = str(m, "spec", "profile")
			// The IstioOperator profile selects the charts' profile.
			if chartProfile, err := iopChartProfile(profile); err != nil {
				return fmt.Errorf("overlays/%s/install/istio-operator.yaml: %v", c.name, err)
			} else if chartProfile != "" && str(values, "profile") == "" {
				values["profile"] = chartProfile
			}
			c.readIstioOperatorComponents(m)
		}
	}
	if values == nil {
		return nil
	}
	c.hasValues = true
	chartProfile := str(values, "profile")
	if chartProfile == "" {
		chartProfile = str(values, "global", "profile")
	}
	values, err = withChartProfile("istio-control/istio-discovery", chartProfile, values)
	if err != nil {
		return fmt.Errorf("overlays/%s: istiod values: %v", c.name, err)
	}
	c.network = str(values, "global", "network")
	c.clusterName = str(values, "global", "multiCluster", "clusterName")
	c.remote = profile == "remote"
	c.remotePilotAddress = str(values, "global", "remotePilotAddress")
	c.meshConfig, _ = dig(values, "meshConfig").(map[string]any)
	// The istiod chart takes env from pilot.env (profiles, IstioOperator)
	// and from the flattened env (helm values); the latter wins.
	c.env = strMap(values, "pilot", "env")
	for k, v := range strMap(values, "env") {
		c.env[k] = v
	}
	switch {
	case sail:
		if err := c.readSailAmbient(); err != nil {
			return err
		}
	case !iop:
		if err := c.readAmbientReleases(); err != nil {
			return err
		}
	}
	return nil
}

// readWatches lists the clusters named by the remote secrets the overlay
// applies (istiod's multicluster secret controller reads exactly these).
func (c *cluster) readWatches() {
	for _, r := range c.objects {
		if r.GetKind() != "Secret" || r.GetLabels()["istio/multiCluster"] != "true" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			continue
		}
		// Every key of the secret's data is one cluster's kubeconfig; the
		// annotation names it too.
		for _, field := range []string{"stringData", "data"} {
			if d, ok := m[field].(map[string]any); ok {
				for k := range d {
					c.watches = append(c.watches, k)
				}
			}
		}
	}
	sort.Strings(c.watches)
}

// readGateway finds the east-west gateway install: the gateway chart's
// HelmRelease, or the east-west IstioOperator istioctl installs from.
func (c *cluster) readGateway(t Tree, w *world) error {
	var g *gateway
	releases, err := c.helmReleases("gateway")
	if err != nil {
		return err
	}
	for _, m := range releases {
		values, _ := dig(m, "spec", "values").(map[string]any)
		name := str(values, "name")
		if name == "" {
			name = str(m, "spec", "releaseName")
		}
		// The gateway chart's own labels, then values.labels, then what
		// networkGateway adds (templates/_helpers.tpl, service.yaml).
		labels := map[string]string{"app": name, "istio": strings.TrimPrefix(name, "istio-")}
		for k, v := range strMap(values, "labels") {
			labels[k] = v
		}
		g = &gateway{name: name, labels: labels}
		if net := str(values, "networkGateway"); net != "" {
			labels["topology.istio.io/network"] = net
			g.requestedViews = []string{net}
		}
	}
	if g == nil {
		for _, d := range t.docs("overlays/" + c.name + "/install/eastwest-gateway.yaml") {
			var m map[string]any
			if err := yaml.Unmarshal(d, &m); err != nil {
				return fmt.Errorf("overlays/%s/install/eastwest-gateway.yaml: %v", c.name, err)
			}
			gws, _ := dig(m, "spec", "components", "ingressGateways").([]any)
			for _, x := range gws {
				gm, _ := x.(map[string]any)
				labels := strMap(gm, "label")
				g = &gateway{name: str(gm, "name"), labels: labels}
				env, _ := dig(gm, "k8s", "env").([]any)
				for _, e := range env {
					em, _ := e.(map[string]any)
					if em["name"] == "ISTIO_META_REQUESTED_NETWORK_VIEW" {
						g.requestedViews = strings.Split(str(em, "value"), ",")
					}
				}
			}
		}
	}
	// Ambient: the Gateway API gateway of class istio-east-west, from which
	// istiod's gateway controller deploys the gateway (its Deployment and
	// a Service named after the Gateway).
	for _, r := range c.objects {
		if r.GetKind() != "Gateway" || !strings.HasPrefix(r.GetApiVersion(), "gateway.networking.k8s.io/") {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return err
		}
		if str(m, "spec", "gatewayClassName") != eastWestClass {
			continue
		}
		if g != nil {
			return fmt.Errorf("overlays/%s: more than one east-west gateway", c.name)
		}
		labels := map[string]string{
			"gateway.networking.k8s.io/gateway-name": r.GetName(),
			"gateway.istio.io/managed":               "istio.io-eastwest-controller",
		}
		for k, v := range r.GetLabels() {
			labels[k] = v
		}
		g = &gateway{name: r.GetName(), labels: labels, ambient: r}
	}
	if g == nil {
		return nil
	}
	if c.inv.EastWestGateway == nil {
		return fmt.Errorf("cluster %s: the tree installs an east-west gateway the inventory gives no address for", c.name)
	}
	g.address = c.inv.EastWestGateway.Address
	g.port = c.inv.EastWestGateway.Port // defaulted by inventory.Load (15443, or 15008 with ambient)
	if a, err := netip.ParseAddr(g.address); err == nil {
		g.ip = a.String()
	} else {
		// A load balancer that hands out DNS names: the simulated resolver
		// answers with an address from the benchmarking range.
		g.ip = fmt.Sprintf("198.18.%d.%d", c.index/250, c.index%250+1)
		w.resolve[g.address] = g.ip
	}
	w.owner[g.ip] = owner{cluster: c.name, gateway: true}
	c.gateway = g
	return nil
}

// sailIstio returns the Sail operator Istio resource the overlay applies
// whose revision runs the cluster's default: the one the default
// IstioRevisionTag targets, else the first; nil without any.
func (c *cluster) sailIstio() (map[string]any, error) {
	var istios []map[string]any
	defaultName := ""
	for _, r := range c.objects {
		if !strings.HasPrefix(r.GetApiVersion(), "sailoperator.io/") {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		switch r.GetKind() {
		case "Istio":
			istios = append(istios, m)
		case "IstioRevisionTag":
			if r.GetName() == "default" && str(m, "spec", "targetRef", "kind") == "Istio" {
				defaultName = str(m, "spec", "targetRef", "name")
			}
		}
	}
	for _, m := range istios {
		if str(m, "metadata", "name") == defaultName {
			return m, nil
		}
	}
	if len(istios) > 0 {
		return istios[0], nil
	}
	return nil, nil
}

// helmReleases returns the HelmReleases of chart the overlay applies.
func (c *cluster) helmReleases(chart string) ([]map[string]any, error) {
	var out []map[string]any
	for _, r := range c.objects {
		if r.GetKind() != "HelmRelease" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		if str(m, "spec", "chart", "spec", "chart") == chart {
			out = append(out, m)
		}
	}
	return out, nil
}

func dig(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func str(m any, keys ...string) string {
	s, _ := dig(m, keys...).(string)
	return s
}

func strMap(m any, keys ...string) map[string]string {
	out := map[string]string{}
	if mm, ok := dig(m, keys...).(map[string]any); ok {
		for k, v := range mm {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

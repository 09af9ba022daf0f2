package oracle

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	istiocluster "istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	kubelib "istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/network"
	"istio.io/istio/pkg/ptr"
	"istio.io/istio/pkg/test"

	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/topology"
)

// Observed is a route as Istio's control plane computed it for a sidecar
// in the calling cluster.
type Observed struct {
	Denied    bool                // the caller has no endpoint for the host
	MTLS      bool                // every endpoint is reached with Istio mTLS
	Endpoints []topology.Endpoint // classified, sorted, one per cluster and path
	Problems  []string            // what else is wrong, as Istio computed it
	// Priorities are the EDS priorities (LocalityLbEndpoints.priority)
	// Envoy gets for each serving cluster: 0 is used first, a higher one
	// only once the lower ones are ejected or unhealthy.
	Priorities map[string][]uint32
}

// Result is the simulation of one tree.
type Result struct {
	// Routes maps a route's key (see Key) to what Istio computed.
	Routes map[string]*Observed
}

// Key names a route in messages and in the expected-failure list.
func Key(r topology.Route) string {
	return fmt.Sprintf("%s:%d from %s", r.Service, r.Port, r.From)
}

// Simulate runs one simulated istiod per istiod the tree installs and
// computes, for every route of want, what a sidecar in the calling cluster
// gets. t owns the simulated servers' lifetime.
func Simulate(t test.Failer, inv *inventory.Inventory, tree Tree, want []topology.Route) (*Result, error) {
	w, err := newWorld(inv, tree)
	if err != nil {
		return nil, err
	}
	if err := w.startResolver(t); err != nil {
		return nil, err
	}
	w.allocate()
	if w.isAmbient() {
		return w.simulateAmbient(t, want)
	}
	servers := map[string]*xds.FakeDiscoveryServer{}
	server := func(p *cluster) (*xds.FakeDiscoveryServer, error) {
		if s, ok := servers[p.name]; ok {
			return s, nil
		}
		s, err := w.istiod(t, p)
		if err != nil {
			return nil, err
		}
		servers[p.name] = s
		return s, nil
	}
	res := &Result{Routes: map[string]*Observed{}}
	views := map[string]*view{}
	viewOf := func(c *cluster, gw bool) (*view, error) {
		key := c.name
		if gw {
			key += "/gateway"
		}
		if v, ok := views[key]; ok {
			return v, nil
		}
		p := w.istiodFor(c)
		if p == nil {
			v := &view{problem: fmt.Sprintf("no istiod serves %s (its values point at %q)", c.name, c.remotePilotAddress)}
			views[key] = v
			return v, nil
		}
		s, err := server(p)
		if err != nil {
			return nil, err
		}
		v := w.proxyView(s, c, gw)
		views[key] = v
		return v, nil
	}
	for _, r := range want {
		c := w.clusters[r.From]
		if c == nil {
			return nil, fmt.Errorf("route from unknown cluster %s", r.From)
		}
		v, err := viewOf(c, false)
		if err != nil {
			return nil, err
		}
		o := w.observe(v, c, r)
		// Every hop through an east-west gateway must be forwarded by that
		// gateway to its own cluster's pods (AUTO_PASSTHROUGH SNI clusters).
		for i, e := range o.Endpoints {
			if !e.Gateway {
				continue
			}
			g := w.clusters[e.Cluster]
			gv, err := viewOf(g, true)
			if err != nil {
				return nil, err
			}
			if p := w.checkGateway(gv, g, r); p != "" {
				o.Problems = append(o.Problems, p)
				o.Endpoints[i].Cluster += " (not forwarded)"
			}
		}
		res.Routes[Key(r)] = o
	}
	return res, nil
}

// view is what one proxy got from its istiod.
type view struct {
	problem   string
	clusters  map[string]*clusterv3.Cluster
	endpoints map[string]*endpointv3.ClusterLoadAssignment
}

var resolverMu sync.Mutex

// startResolver answers the DNS names of east-west gateways, as a load
// balancer's DNS would, for istiod's network-gateway resolution.
func (w *world) startResolver(t test.Failer) error {
	if len(w.resolve) == 0 {
		return nil
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	names := map[string]string{}
	for name, ip := range w.resolve {
		names[dns.Fqdn(name)] = ip
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(rw dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		for _, q := range req.Question {
			if ip, ok := names[strings.ToLower(q.Name)]; ok && q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: net.ParseIP(ip)})
			}
		}
		_ = rw.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	resolverMu.Lock()
	model.NetworkGatewayTestDNSServers = []string{pc.LocalAddr().String()}
	resolverMu.Unlock()
	return nil
}

// workloads are the synthetic pods of every exported service, by cluster.
type workload struct {
	svc       *inventory.Service
	podIP     string
	clusterIP string
}

// allocate gives every synthetic pod (workloads, east-west gateways, the
// calling clients) an address of its own, never one the inventory uses.
func (w *world) allocate() {
	next := netip.MustParseAddr("10.128.0.0")
	ip := func() string {
		for {
			next = next.Next()
			if _, taken := w.owner[next.String()]; !taken && next.As4()[3] != 0 && next.As4()[3] != 255 {
				return next.String()
			}
		}
	}
	clusterIP := netip.MustParseAddr("172.16.0.0")
	for _, name := range w.order {
		c := w.clusters[name]
		c.clientIP = ip()
		w.owner[c.clientIP] = owner{cluster: name}
		if c.gateway != nil {
			c.gateway.podIP = ip()
			w.owner[c.gateway.podIP] = owner{cluster: name, pod: true}
		}
	}
	for i := range w.inv.Services {
		s := &w.inv.Services[i]
		for _, e := range s.Clusters {
			c := w.clusters[e]
			if c == nil {
				continue
			}
			clusterIP = clusterIP.Next()
			wl := workload{svc: s, podIP: ip(), clusterIP: clusterIP.String()}
			w.owner[wl.podIP] = owner{cluster: e, pod: true}
			c.workloads = append(c.workloads, wl)
		}
	}
}

// kubeObjects is what cluster c's API server holds, as istiod lists it.
func (w *world) kubeObjects(c *cluster) ([]runtime.Object, error) {
	var objs []runtime.Object
	namespaces := map[string]bool{}
	for _, r := range c.objects {
		if r.GetApiVersion() != "v1" || (r.GetKind() != "Namespace" && r.GetKind() != "Service") {
			continue
		}
		o, err := decodeResource(c, r)
		if err != nil {
			return nil, err
		}
		if r.GetKind() == "Namespace" {
			namespaces[r.GetName()] = true
		}
		objs = append(objs, o)
	}
	ns := func(name string, labels map[string]string) {
		if !namespaces[name] {
			namespaces[name] = true
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
		}
	}
	ns("istio-system", nil)
	ns(clientNamespace, nil)
	for _, wl := range c.workloads {
		var labels map[string]string
		if c.ambient() {
			// What the docs tell users to do for ambient: the namespaces of
			// exported services join the ambient data plane.
			labels = map[string]string{"istio.io/dataplane-mode": "ambient"}
		}
		ns(wl.svc.Namespace, labels)
	}
	// The API server labels every namespace with its name.
	ambientNamespaces := map[string]bool{}
	for _, o := range objs {
		if n, ok := o.(*corev1.Namespace); ok {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[corev1.LabelMetadataName] = n.Name
			ambientNamespaces[n.Name] = n.Labels["istio.io/dataplane-mode"] == "ambient"
		}
	}
	for _, wl := range c.workloads {
		objs = append(objs, w.workloadObjects(c, wl, ambientNamespaces[wl.svc.Namespace])...)
	}
	if g := c.gateway; g != nil {
		if g.ambient != nil {
			objs = append(objs, ambientGatewayObjects(c, g)...)
		} else {
			objs = append(objs, gatewayObjects(c, g)...)
		}
	}
	// Istio reads a pod's locality from its node's labels.
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-0", Labels: map[string]string{}}}
	if l := c.inv.Locality; l != nil {
		node.Labels[corev1.LabelTopologyRegion] = l.Region
		if l.Zone != "" {
			node.Labels[corev1.LabelTopologyZone] = l.Zone
		}
	}
	objs = append(objs, node)
	return objs, nil
}

const clientNamespace = "meshgen-sim-client"

func podLabels(c *cluster, app string) map[string]string {
	l := map[string]string{
		"app":                       app,
		"security.istio.io/tlsMode": "istio",
	}
	if c.network != "" {
		// The sidecar injector labels pods with the injecting network.
		l["topology.istio.io/network"] = c.network
	}
	return l
}

// workloadObjects are the Service, Pod and EndpointSlice of an exported
// service's workload in cluster c. In an ambient cluster the pod has no
// sidecar; istio-cni, where the tree installs it with ambient, redirects it
// to ztunnel when its namespace is in the ambient data plane, and the
// Service carries istio.io/global=true as the docs tell users.
func (w *world) workloadObjects(c *cluster, wl workload, ambientNamespace bool) []runtime.Object {
	s := wl.svc
	labels := podLabels(c, s.Name)
	var annotations, svcLabels map[string]string
	if c.ambient() {
		labels = map[string]string{"app": s.Name}
		if c.cni && ambientNamespace {
			annotations = map[string]string{"ambient.istio.io/redirection": "enabled"}
		}
		svcLabels = map[string]string{"istio.io/global": "true"}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-0", Namespace: s.Namespace, Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{ServiceAccountName: s.Name, NodeName: "node-0"},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: wl.podIP, PodIPs: []corev1.PodIP{{IP: wl.podIP}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: svcLabels},
		Spec:       corev1.ServiceSpec{ClusterIP: wl.clusterIP, Selector: map[string]string{"app": s.Name}},
	}
	var eps []discoveryv1.EndpointPort
	for _, p := range s.Ports {
		proto := corev1.ProtocolTCP
		if strings.EqualFold(p.Protocol, "UDP") {
			proto = corev1.ProtocolUDP
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: p.Name, Port: int32(p.Port), TargetPort: intstr.FromInt(p.Port), Protocol: proto,
			AppProtocol: ptr.Of(strings.ToLower(p.Protocol)),
		})
		eps = append(eps, discoveryv1.EndpointPort{Name: ptr.Of(p.Name), Port: ptr.Of(int32(p.Port)), Protocol: ptr.Of(proto)})
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: s.Name + "-0", Namespace: s.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: s.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{wl.podIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.Of(true)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: pod.Name, Namespace: pod.Namespace},
		}},
		Ports: eps,
	}
	return []runtime.Object{pod, svc, slice}
}

func gatewayObjects(c *cluster, g *gateway) []runtime.Object {
	return gatewayDeployment(c, g, "istio-system", g.labels, []corev1.ServicePort{
		{Name: "status-port", Port: 15021, TargetPort: intstr.FromInt(15021), Protocol: corev1.ProtocolTCP},
		{Name: "tls", Port: int32(g.port), TargetPort: intstr.FromInt(15443), Protocol: corev1.ProtocolTCP},
		{Name: "tls-istiod", Port: 15012, TargetPort: intstr.FromInt(15012), Protocol: corev1.ProtocolTCP},
		{Name: "tls-webhook", Port: 15017, TargetPort: intstr.FromInt(15017), Protocol: corev1.ProtocolTCP},
	})
}

// gatewayDeployment is an east-west gateway as it runs: a LoadBalancer
// Service whose status holds the inventory address, and one ready pod
// with the gateway's labels.
func gatewayDeployment(c *cluster, g *gateway, ns string, selector map[string]string, ports []corev1.ServicePort) []runtime.Object {
	ingress := corev1.LoadBalancerIngress{IP: g.address}
	if g.ip != g.address {
		ingress = corev1.LoadBalancerIngress{Hostname: g.address}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: g.name, Namespace: ns, Labels: g.labels},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIP: fmt.Sprintf("172.31.%d.%d", c.index/250, c.index%250+1),
			Selector: selector,
			Ports:    ports,
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{ingress}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: g.name + "-0", Namespace: ns, Labels: g.labels},
		Spec:       corev1.PodSpec{ServiceAccountName: g.name, NodeName: "node-0"},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: g.podIP, PodIPs: []corev1.PodIP{{IP: g.podIP}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	return []runtime.Object{svc, pod}
}

// istiod starts the simulated istiod of primary p.
func (w *world) istiod(t test.Failer, p *cluster) (*xds.FakeDiscoveryServer, error) {
	byCluster := map[istiocluster.ID][]runtime.Object{}
	for _, name := range append([]string{p.name}, p.watches...) {
		c := w.clusters[name]
		if c == nil {
			return nil, fmt.Errorf("overlays/%s: remote secret for unknown cluster %q", p.name, name)
		}
		objs, err := w.kubeObjects(c)
		if err != nil {
			return nil, err
		}
		byCluster[istiocluster.ID(name)] = objs
	}
	var configs []config.Config
	for _, r := range p.objects {
		group, _, _ := strings.Cut(r.GetApiVersion(), "/")
		if !strings.HasSuffix(group, ".istio.io") || group == "install.istio.io" {
			continue
		}
		data, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		cfgs, unknown, err := crd.ParseInputs(string(data))
		if err != nil {
			return nil, fmt.Errorf("overlays/%s: %s %s: %v", p.name, r.GetKind(), r.GetName(), err)
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("overlays/%s: %s %s: kind istiod does not know", p.name, r.GetKind(), r.GetName())
		}
		configs = append(configs, cfgs...)
	}
	mc, err := w.meshConfigOf(p)
	if err != nil {
		return nil, err
	}
	return xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		DefaultClusterName:         istiocluster.ID(p.name),
		KubernetesObjectsByCluster: byCluster,
		KubeClientBuilder:          fakeClient,
		Configs:                    configs,
		MeshConfig:                 mc,
		NetworksWatcher:            meshwatcher.NewFixedNetworksWatcher(&meshconfig.MeshNetworks{}),
	}), nil
}

// meshConfigOf is the MeshConfig istiod of primary p runs with: its
// values' meshConfig over Istio's defaults.
func (w *world) meshConfigOf(p *cluster) (*meshconfig.MeshConfig, error) {
	mc := mesh.DefaultMeshConfig()
	if p.meshConfig != nil {
		data, err := yaml.Marshal(p.meshConfig)
		if err != nil {
			return nil, err
		}
		if mc, err = mesh.ApplyMeshConfigDefaults(string(data)); err != nil {
			return nil, fmt.Errorf("overlays/%s: meshConfig istiod rejects: %v", p.name, err)
		}
	}
	return mc, nil
}

// fakeClient is the simulated API server of one cluster, holding objs.
// Objects go in through the tracker's Add rather than the Create Istio's
// own builder uses: client-go's field-managed tracker builds a whole REST
// mapper on every Create, which makes a fleet of thousands of objects take
// minutes. Every object here is a core Kubernetes kind, whose resource Add
// derives correctly.
func fakeClient(objs ...runtime.Object) kubelib.Client {
	c := kubelib.NewFakeClient()
	tracker := c.Kube().(*kubefake.Clientset).Tracker()
	for _, o := range objs {
		if err := tracker.Add(o.DeepCopyObject()); err != nil {
			panic(fmt.Sprintf("simulated API server: add %T: %v", o, err))
		}
	}
	return c
}

// proxyView connects a sidecar (or, with gw, the east-west gateway) of
// cluster c to istiod s and records its clusters and endpoints.
func (w *world) proxyView(s *xds.FakeDiscoveryServer, c *cluster, gw bool) *view {
	version := w.inv.Mesh.Istio.Version
	p := &model.Proxy{
		Metadata: &model.NodeMetadata{
			ClusterID:    istiocluster.ID(c.name),
			Network:      network.ID(c.network),
			IstioVersion: version,
		},
	}
	if l := c.inv.Locality; l != nil {
		// What the proxy's node reports to istiod, from its node's labels.
		p.Locality = &corev3.Locality{Region: l.Region, Zone: l.Zone}
	}
	if gw {
		g := c.gateway
		p.Type = model.Router
		p.ID = g.name + "-0.istio-system"
		p.ConfigNamespace = "istio-system"
		p.Labels = g.labels
		p.Metadata.Labels = g.labels
		p.Metadata.Namespace = "istio-system"
		p.Metadata.RequestedNetworkView = g.requestedViews
		p.IPAddresses = []string{g.podIP}
	} else {
		labels := podLabels(c, "meshgen-sim-client")
		// istiod adds the proxy's topology to its labels when it
		// connects (pilot/pkg/xds/ads.go, AugmentLabels), which
		// failoverPriority matches endpoints against.
		labels["topology.istio.io/cluster"] = c.name
		if l := c.inv.Locality; l != nil {
			labels[corev1.LabelTopologyRegion] = l.Region
			if l.Zone != "" {
				labels[corev1.LabelTopologyZone] = l.Zone
			}
		}
		p.ID = "client-0." + clientNamespace
		p.ConfigNamespace = clientNamespace
		p.Labels = labels
		p.Metadata.Labels = labels
		p.Metadata.Namespace = clientNamespace
		p.IPAddresses = []string{c.clientIP}
	}
	p = s.SetupProxy(p)
	v := &view{clusters: map[string]*clusterv3.Cluster{}, endpoints: map[string]*endpointv3.ClusterLoadAssignment{}}
	for _, cl := range s.Clusters(p) {
		v.clusters[cl.Name] = cl
	}
	for _, cla := range s.Endpoints(p) {
		v.endpoints[cla.ClusterName] = cla
	}
	return v
}

// lbEndpoints returns the endpoints Envoy would use for a cluster.
func (v *view) lbEndpoints(name string) (*clusterv3.Cluster, []*endpointv3.LbEndpoint) {
	cl := v.clusters[name]
	if cl == nil {
		return nil, nil
	}
	cla := cl.GetLoadAssignment()
	if cl.GetType() == clusterv3.Cluster_EDS {
		cla = v.endpoints[name]
	}
	var out []*endpointv3.LbEndpoint
	for _, l := range cla.GetEndpoints() {
		out = append(out, l.GetLbEndpoints()...)
	}
	return cl, out
}

// priorities returns the EDS priority of every endpoint address of a
// cluster, as Envoy gets them.
func (v *view) priorities(name string) map[string]uint32 {
	cla := v.endpoints[name]
	if cl := v.clusters[name]; cl != nil && cl.GetType() != clusterv3.Cluster_EDS {
		cla = cl.GetLoadAssignment()
	}
	out := map[string]uint32{}
	for _, l := range cla.GetEndpoints() {
		for _, ep := range l.GetLbEndpoints() {
			sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
			out[fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())] = l.GetPriority()
		}
	}
	return out
}

// observe classifies what a sidecar of caller got for route r.
func (w *world) observe(v *view, caller *cluster, r topology.Route) *Observed {
	o := &Observed{}
	if v.problem != "" {
		o.Denied = true
		o.Problems = append(o.Problems, v.problem)
		return o
	}
	name := fmt.Sprintf("outbound|%d||%s", r.Port, r.Host)
	cl, eps := v.lbEndpoints(name)
	if cl == nil {
		o.Denied = true
		o.Problems = append(o.Problems, "no cluster "+name)
		return o
	}
	if len(eps) == 0 {
		o.Denied = true
		return o
	}
	o.MTLS = true
	o.Priorities = map[string][]uint32{}
	prio := v.priorities(name)
	seen := map[topology.Endpoint]bool{}
	for _, ep := range eps {
		sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
		addr, port := sa.GetAddress(), sa.GetPortValue()
		e := w.classify(caller, r, addr, port)
		o.Priorities[e.Cluster] = append(o.Priorities[e.Cluster], prio[fmt.Sprintf("%s:%d", addr, port)])
		if !isIstioMTLS(cl, ep) {
			o.MTLS = false
			o.Problems = append(o.Problems, fmt.Sprintf("%s:%d is reached in plaintext", addr, port))
		}
		if !seen[e] {
			seen[e] = true
			o.Endpoints = append(o.Endpoints, e)
		}
	}
	sortEndpoints(o.Endpoints)
	return o
}

func sortEndpoints(es []topology.Endpoint) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Cluster != b.Cluster {
			return a.Cluster < b.Cluster
		}
		if a.Gateway != b.Gateway {
			return !a.Gateway
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Port < b.Port
	})
}

// classify tells what an endpoint address stands for.
func (w *world) classify(caller *cluster, r topology.Route, addr string, port uint32) topology.Endpoint {
	if o, ok := w.owner[addr]; ok {
		if o.gateway {
			g := w.clusters[o.cluster].gateway
			return topology.Endpoint{Cluster: o.cluster, Gateway: true, Address: g.address, Port: port}
		}
		return topology.Endpoint{Cluster: o.cluster}
	}
	// A DNS endpoint: Envoy resolves it with the caller's cluster DNS.
	name, ns, _ := strings.Cut(r.Service, ".")
	if addr == name+"."+ns+".svc.cluster.local" {
		for _, wl := range caller.workloads {
			if wl.svc.Name == name && wl.svc.Namespace == ns {
				return topology.Endpoint{Cluster: caller.name}
			}
		}
		return topology.Endpoint{Cluster: "unresolvable " + addr + " in " + caller.name}
	}
	for _, cn := range w.order {
		if g := w.clusters[cn].gateway; g != nil && g.address == addr {
			return topology.Endpoint{Cluster: cn, Gateway: true, Address: g.address, Port: port}
		}
	}
	return topology.Endpoint{Cluster: "unknown address " + net.JoinHostPort(addr, strconv.Itoa(int(port)))}
}

// checkGateway reports why g's east-west gateway would not forward route
// r's SNI to g's own pods, or "".
func (w *world) checkGateway(v *view, g *cluster, r topology.Route) string {
	if v.problem != "" {
		return g.name + "'s east-west gateway: " + v.problem
	}
	name := fmt.Sprintf("outbound_.%d_._.%s", r.Port, r.Host)
	cl, eps := v.lbEndpoints(name)
	if cl == nil {
		return fmt.Sprintf("%s's east-west gateway has no cluster %s", g.name, name)
	}
	var got []string
	for _, ep := range eps {
		sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
		e := w.classify(g, r, sa.GetAddress(), sa.GetPortValue())
		if e.Cluster == g.name && !e.Gateway {
			return ""
		}
		got = append(got, describe(e))
	}
	if len(got) == 0 {
		return fmt.Sprintf("%s's east-west gateway has no endpoint in %s", g.name, name)
	}
	return fmt.Sprintf("%s's east-west gateway forwards %s to %s, not to its own pods", g.name, name, strings.Join(got, ", "))
}

// isIstioMTLS reports whether Envoy would connect to ep with Istio mTLS:
// the transport socket that applies to the endpoint (its cluster's
// transport_socket_matches against the endpoint's metadata, else the
// cluster's transport_socket) presents the workload certificate and
// validates with the mesh root.
func isIstioMTLS(cl *clusterv3.Cluster, ep *endpointv3.LbEndpoint) bool {
	ts := cl.GetTransportSocket()
	if matches := cl.GetTransportSocketMatches(); len(matches) > 0 {
		md := ep.GetMetadata().GetFilterMetadata()["envoy.transport_socket_match"].GetFields()
		ts = nil
		for _, m := range matches {
			ok := true
			for k, want := range m.GetMatch().GetFields() {
				if got, found := md[k]; !found || got.GetStringValue() != want.GetStringValue() {
					ok = false
					break
				}
			}
			if ok {
				ts = m.GetTransportSocket()
				break
			}
		}
	}
	return istioTLS(ts)
}

func istioTLS(ts *corev3.TransportSocket) bool {
	if ts == nil || ts.GetName() != "envoy.transport_sockets.tls" {
		return false
	}
	ctx := xdstest.SilentlyUnmarshalAny[tlsv3.UpstreamTlsContext](ts.GetTypedConfig())
	if ctx == nil {
		return false
	}
	cert := false
	for _, s := range ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs() {
		if s.GetName() == "default" {
			cert = true
		}
	}
	root := false
	if cv := ctx.GetCommonTlsContext().GetCombinedValidationContext(); cv != nil {
		root = cv.GetValidationContextSdsSecretConfig().GetName() == "ROOTCA"
	}
	return cert && root
}

func describe(e topology.Endpoint) string {
	s := e.Cluster + " pods"
	if e.Gateway {
		s = fmt.Sprintf("%s via %s:%d", e.Cluster, e.Address, e.Port)
	}
	if e.Transport != "" {
		s += " (" + e.Transport + ")"
	}
	return s
}

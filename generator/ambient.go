package generator

import (
	"github.com/meshgen/meshgen/generator/inventory"
)

// Istio's ambient data plane (mesh.dataplane ambient), as Istio's "Install
// ambient multi-primary on different networks" guide installs it: istiod
// with the ambient profile and AMBIENT_ENABLE_MULTI_NETWORK, the cni and
// ztunnel charts with the cluster's name and network, and the east-west
// gateway as a Gateway API Gateway of class istio-east-west. Every
// installer renders these from the install model's methods below.

const (
	ambientProfile = "ambient"
	// ambientMultiNetworkEnv turns on ambient multicluster in istiod
	// (pilot/pkg/features: AMBIENT_ENABLE_MULTI_NETWORK, off by default):
	// remote clusters' global services, network gateways, and the
	// istio-east-west GatewayClass.
	ambientMultiNetworkEnv = "AMBIENT_ENABLE_MULTI_NETWORK"
	// GlobalServiceLabel marks a Service global: with the serviceScopeConfigs
	// meshgen writes, istiod shares it with every cluster of the mesh.
	GlobalServiceLabel = "istio.io/global"
	// namespaceNameLabel is the label Kubernetes sets on every namespace
	// to its own name.
	namespaceNameLabel = "kubernetes.io/metadata.name"
	// AmbientEastWestGatewayClass is the GatewayClass of ambient east-west
	// gateways, which istiod offers with AMBIENT_ENABLE_MULTI_NETWORK.
	AmbientEastWestGatewayClass = "istio-east-west"
	ambientEastWestGatewayFile  = "eastwest-gateway.yaml"
)

// ambientPilot is istiod's ambient multi-network setting, the guide's
// env.AMBIENT_ENABLE_MULTI_NETWORK.
func (in install) ambientPilot() *PilotValues {
	return &PilotValues{Env: map[string]string{ambientMultiNetworkEnv: "true"}}
}

// serviceScopeConfigs decide which Services istiod makes global (pilot's
// matchServiceScope): a Service labelled istio.io/global=true in a
// namespace that holds an exported service. The ambient profile's own
// entry selects the label in every namespace; meshgen writes its entry
// explicitly (Helm replaces the profile's list), the same in every
// cluster, so that the inventory's namespaces bound what can be global.
// Without exported services nothing is written and the profile's entry
// stays.
func (in install) serviceScopeConfigs() []ServiceScopeConfig {
	if len(in.global) == 0 {
		return nil
	}
	return []ServiceScopeConfig{{
		NamespaceSelector: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: namespaceNameLabel, Operator: "In", Values: in.global},
		}},
		ServicesSelector: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: GlobalServiceLabel, Operator: "In", Values: []string{"true"}},
		}},
		Scope: "GLOBAL",
	}}
}

// cniChartValues are the values of Istio's cni chart (istio-cni).
type cniChartValues struct {
	Profile  string `json:"profile"`
	Revision string `json:"revision,omitempty"`
}

// cniValues are the cluster's cni chart values: the ambient profile, as
// the guide installs it.
func (in install) cniValues() cniChartValues {
	return cniChartValues{Profile: ambientProfile, Revision: in.revision}
}

// ztunnelChartValues are the values of Istio's ztunnel chart.
type ztunnelChartValues struct {
	Revision     string        `json:"revision,omitempty"`
	MultiCluster *MultiCluster `json:"multiCluster"`
	Network      string        `json:"network"`
}

// ztunnelValues are the cluster's ztunnel chart values: its cluster name
// (ISTIO_META_CLUSTER_ID, which must match istiod's) and network, and the
// revision whose istiod it reads from.
func (in install) ztunnelValues() ztunnelChartValues {
	return ztunnelChartValues{
		Revision:     in.revision,
		MultiCluster: &MultiCluster{ClusterName: in.clusterName},
		Network:      in.network,
	}
}

// ambientReleases are the HelmReleases of the cni and ztunnel charts, in
// the guide's order after istiod.
func (in install) ambientReleases() []*HelmRelease {
	var cni, ztunnel HelmRelease
	loadTemplate("ambient-helmreleases.yaml", &cni, &ztunnel)
	cni.Spec.Chart.Spec.Version = in.version
	cni.Spec.DependsOn = []Dependency{{Name: in.release}}
	cni.Spec.Values = in.cniValues()
	ztunnel.Spec.Chart.Spec.Version = in.version
	ztunnel.Spec.Values = in.ztunnelValues()
	return []*HelmRelease{&cni, &ztunnel}
}

// ambientEastWestGateway is the cluster's ambient east-west gateway:
// exactly what samples/multicluster/gen-eastwest-gateway.sh --ambient
// --network NET prints, plus, where the inventory gives the gateway an IP
// address, that address in spec.addresses. istiod deploys the gateway
// with a LoadBalancer Service whose loadBalancerIP is that address, and
// other clusters' istiods read the address back from the Gateway's status.
// A DNS name is not written: a Hostname address would make istiod treat
// the Gateway as one it does not deploy.
func (in install) ambientEastWestGateway() *KubeGateway {
	var gw KubeGateway
	loadTemplate("ambient-eastwest-gateway.yaml", &gw)
	gw.Metadata.Labels = map[string]string{NetworkLabel: in.network}
	if in.gateway != nil && inventory.IsIP(in.gateway.Address) {
		gw.Spec.Addresses = []KubeGatewayAddress{{Type: "IPAddress", Value: in.gateway.Address}}
	}
	return &gw
}

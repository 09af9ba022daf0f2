package generator

// Typed values of the Kubernetes, Istio and Flux objects meshgen emits. Only
// the fields meshgen sets are modelled; templates are decoded strictly into
// these types, so a template with a field the type does not know fails at
// once in tests instead of being dropped.

// TypeMeta is apiVersion and kind.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the part of metadata meshgen sets.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Namespace is a core/v1 Namespace.
type Namespace struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
}

// Kustomization is a kustomize.config.k8s.io/v1beta1 Kustomization.
type Kustomization struct {
	TypeMeta  `json:",inline"`
	Resources []string `json:"resources"`
}

// IstioOperator is an install.istio.io/v1alpha1 IstioOperator.
type IstioOperator struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Spec     IstioOperatorSpec `json:"spec"`
}

// IstioOperatorSpec is the part of the IstioOperator spec meshgen sets.
type IstioOperatorSpec struct {
	Profile    string      `json:"profile,omitempty"`
	Revision   string      `json:"revision,omitempty"`
	Tag        string      `json:"tag,omitempty"`
	MeshConfig *MeshConfig `json:"meshConfig,omitempty"`
	Components *Components `json:"components,omitempty"`
	Values     *Values     `json:"values,omitempty"`
}

// MeshConfig is the part of meshConfig meshgen sets.
type MeshConfig struct {
	TrustDomain         string               `json:"trustDomain,omitempty"`
	DefaultConfig       *ProxyConfig         `json:"defaultConfig,omitempty"`
	ServiceSettings     []ServiceSettings    `json:"serviceSettings,omitempty"`
	ServiceScopeConfigs []ServiceScopeConfig `json:"serviceScopeConfigs,omitempty"`
}

// ServiceScopeConfig is one entry of meshConfig.serviceScopeConfigs: the
// Services (by namespace and Service labels) whose scope ambient istiod
// sets, GLOBAL making them visible to every cluster of the mesh.
type ServiceScopeConfig struct {
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
	ServicesSelector  *LabelSelector `json:"servicesSelector,omitempty"`
	Scope             string         `json:"scope"`
}

// LabelSelector is a Kubernetes label selector of match expressions.
type LabelSelector struct {
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions"`
}

// LabelSelectorRequirement is one match expression of a label selector.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// ServiceSettings is one entry of meshConfig.serviceSettings.
type ServiceSettings struct {
	Settings ServiceSettingsSettings `json:"settings"`
	Hosts    []string                `json:"hosts"`
}

// ServiceSettingsSettings are the settings of a serviceSettings entry.
type ServiceSettingsSettings struct {
	ClusterLocal bool `json:"clusterLocal"`
}

// ProxyConfig is meshConfig.defaultConfig.
type ProxyConfig struct {
	ProxyMetadata map[string]string `json:"proxyMetadata,omitempty"`
}

// Components are IstioOperator components.
type Components struct {
	IngressGateways []GatewayComponent `json:"ingressGateways,omitempty"`
}

// GatewayComponent is one gateway of an IstioOperator.
type GatewayComponent struct {
	Name    string             `json:"name"`
	Enabled bool               `json:"enabled"`
	Label   map[string]string  `json:"label,omitempty"`
	K8s     *KubernetesOptions `json:"k8s,omitempty"`
}

// KubernetesOptions are a component's k8s settings.
type KubernetesOptions struct {
	Env     []EnvVar     `json:"env,omitempty"`
	Service *ServiceSpec `json:"service,omitempty"`
}

// EnvVar is a container environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ServiceSpec is the part of a Service spec meshgen sets.
type ServiceSpec struct {
	Ports []ServicePort `json:"ports"`
}

// ServicePort is a Service port.
type ServicePort struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort,omitempty"`
}

// Values are the Helm values shared by the IstioOperator and the istiod
// chart: one model, rendered both ways.
type Values struct {
	Gateways     map[string]GatewayValues `json:"gateways,omitempty"`
	Global       *GlobalValues            `json:"global,omitempty"`
	IstiodRemote *IstiodRemoteValues      `json:"istiodRemote,omitempty"`
	Pilot        *PilotValues             `json:"pilot,omitempty"`
}

// PilotValues are values.pilot: istiod's settings (the istiod chart
// flattens them onto its own values, as it does the profile's pilot.env).
type PilotValues struct {
	Env map[string]string `json:"env,omitempty"`
}

// GatewayValues are values.gateways.<name>.
type GatewayValues struct {
	InjectionTemplate string `json:"injectionTemplate,omitempty"`
}

// GlobalValues are values.global.
type GlobalValues struct {
	MeshID             string        `json:"meshID,omitempty"`
	MultiCluster       *MultiCluster `json:"multiCluster,omitempty"`
	Network            string        `json:"network,omitempty"`
	RemotePilotAddress string        `json:"remotePilotAddress,omitempty"`
	ExternalIstiod     bool          `json:"externalIstiod,omitempty"`
	ConfigCluster      bool          `json:"configCluster,omitempty"`
}

// MultiCluster is values.global.multiCluster.
type MultiCluster struct {
	ClusterName string `json:"clusterName"`
}

// IstiodRemoteValues are values.istiodRemote.
type IstiodRemoteValues struct {
	InjectionPath string `json:"injectionPath,omitempty"`
}

// Gateway is a networking.istio.io/v1 Gateway.
type Gateway struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta  `json:"metadata"`
	Spec     GatewaySpec `json:"spec"`
}

// GatewaySpec is an Istio Gateway spec.
type GatewaySpec struct {
	Selector map[string]string `json:"selector"`
	Servers  []Server          `json:"servers"`
}

// Server is one Gateway server.
type Server struct {
	Port  GatewayPort `json:"port"`
	TLS   *ServerTLS  `json:"tls,omitempty"`
	Hosts []string    `json:"hosts"`
}

// GatewayPort is a Gateway server port.
type GatewayPort struct {
	Number   int    `json:"number"`
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
}

// ServerTLS is a Gateway server's TLS settings.
type ServerTLS struct {
	Mode string `json:"mode"`
}

// KubeGateway is a Gateway API gateway.networking.k8s.io/v1 Gateway.
type KubeGateway struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta      `json:"metadata"`
	Spec     KubeGatewaySpec `json:"spec"`
}

// KubeGatewaySpec is the part of a Gateway API Gateway spec meshgen sets.
type KubeGatewaySpec struct {
	GatewayClassName string               `json:"gatewayClassName"`
	Addresses        []KubeGatewayAddress `json:"addresses,omitempty"`
	Listeners        []KubeListener       `json:"listeners"`
}

// KubeGatewayAddress is an address a Gateway API Gateway asks for.
type KubeGatewayAddress struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// KubeListener is one listener of a Gateway API Gateway.
type KubeListener struct {
	Name     string           `json:"name"`
	Port     int              `json:"port"`
	Protocol string           `json:"protocol"`
	TLS      *KubeListenerTLS `json:"tls,omitempty"`
}

// KubeListenerTLS is a listener's TLS settings.
type KubeListenerTLS struct {
	Mode    string            `json:"mode"`
	Options map[string]string `json:"options,omitempty"`
}

// VirtualService is a networking.istio.io/v1 VirtualService with TLS routes.
type VirtualService struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     VirtualServiceSpec `json:"spec"`
}

// VirtualServiceSpec is a VirtualService spec with TLS routes only.
type VirtualServiceSpec struct {
	Hosts    []string   `json:"hosts"`
	Gateways []string   `json:"gateways"`
	TLS      []TLSRoute `json:"tls"`
}

// TLSRoute is a VirtualService TLS route.
type TLSRoute struct {
	Match []TLSMatch     `json:"match"`
	Route []RouteDestWts `json:"route"`
}

// TLSMatch matches TLS traffic by port and SNI.
type TLSMatch struct {
	Port     int      `json:"port"`
	SNIHosts []string `json:"sniHosts,omitempty"`
}

// RouteDestWts is one destination of a route.
type RouteDestWts struct {
	Destination Destination `json:"destination"`
}

// Destination is a route destination.
type Destination struct {
	Host string  `json:"host,omitempty"`
	Port PortSel `json:"port"`
}

// PortSel selects a port by number.
type PortSel struct {
	Number int `json:"number"`
}

// HelmRepository is a Flux source.toolkit.fluxcd.io/v1 HelmRepository.
type HelmRepository struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     HelmRepositorySpec `json:"spec"`
}

// HelmRepositorySpec is a HelmRepository spec.
type HelmRepositorySpec struct {
	Interval string `json:"interval,omitempty"`
	URL      string `json:"url"`
}

// HelmRelease is a Flux helm.toolkit.fluxcd.io/v2 HelmRelease.
type HelmRelease struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta      `json:"metadata"`
	Spec     HelmReleaseSpec `json:"spec"`
}

// HelmReleaseSpec is a HelmRelease spec.
type HelmReleaseSpec struct {
	Interval    string       `json:"interval,omitempty"`
	ReleaseName string       `json:"releaseName"`
	Chart       HelmChart    `json:"chart"`
	DependsOn   []Dependency `json:"dependsOn,omitempty"`
	Install     *HelmInstall `json:"install,omitempty"`
	Upgrade     *HelmUpgrade `json:"upgrade,omitempty"`
	Values      any          `json:"values,omitempty"`
}

// HelmChart is a HelmRelease chart template.
type HelmChart struct {
	Spec HelmChartSpec `json:"spec"`
}

// HelmChartSpec names a chart and version in a source.
type HelmChartSpec struct {
	Chart     string    `json:"chart"`
	Version   string    `json:"version,omitempty"`
	SourceRef SourceRef `json:"sourceRef"`
}

// SourceRef refers to a Flux source.
type SourceRef struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Dependency is a HelmRelease dependsOn entry.
type Dependency struct {
	Name string `json:"name"`
}

// HelmInstall is a HelmRelease's install settings.
type HelmInstall struct {
	Remediation *InstallRemediation `json:"remediation,omitempty"`
}

// InstallRemediation says what helm-controller does when an install fails.
type InstallRemediation struct {
	Retries int `json:"retries"`
}

// HelmUpgrade is a HelmRelease's upgrade settings.
type HelmUpgrade struct {
	Remediation *UpgradeRemediation `json:"remediation,omitempty"`
}

// UpgradeRemediation says what helm-controller does when an upgrade fails.
type UpgradeRemediation struct {
	Retries              int    `json:"retries"`
	RemediateLastFailure bool   `json:"remediateLastFailure"`
	Strategy             string `json:"strategy"`
}

// ServiceEntry is a networking.istio.io/v1 ServiceEntry.
type ServiceEntry struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     ServiceEntrySpec `json:"spec"`
}

// ServiceEntrySpec is a ServiceEntry spec.
type ServiceEntrySpec struct {
	Hosts      []string        `json:"hosts"`
	Addresses  []string        `json:"addresses,omitempty"`
	Ports      []SEPort        `json:"ports"`
	Location   string          `json:"location"`
	Resolution string          `json:"resolution"`
	Endpoints  []WorkloadEntry `json:"endpoints"`
}

// SEPort is a ServiceEntry port.
type SEPort struct {
	Number   int    `json:"number"`
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
}

// WorkloadEntry is one ServiceEntry endpoint.
type WorkloadEntry struct {
	Address  string            `json:"address"`
	Ports    map[string]int    `json:"ports,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Network  string            `json:"network,omitempty"`
	Locality string            `json:"locality,omitempty"`
}

// DestinationRule is a networking.istio.io/v1 DestinationRule.
type DestinationRule struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta          `json:"metadata"`
	Spec     DestinationRuleSpec `json:"spec"`
}

// DestinationRuleSpec is the part of a DestinationRule spec meshgen sets.
type DestinationRuleSpec struct {
	Host          string        `json:"host"`
	TrafficPolicy TrafficPolicy `json:"trafficPolicy"`
}

// TrafficPolicy is a DestinationRule traffic policy.
type TrafficPolicy struct {
	TLS              ClientTLSSettings     `json:"tls"`
	LoadBalancer     *LoadBalancerSettings `json:"loadBalancer,omitempty"`
	OutlierDetection *OutlierDetection     `json:"outlierDetection,omitempty"`
}

// ClientTLSSettings are a traffic policy's TLS settings.
type ClientTLSSettings struct {
	Mode string `json:"mode"`
}

// FluxKustomization is a kustomize.toolkit.fluxcd.io/v1 Kustomization.
type FluxKustomization struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta            `json:"metadata"`
	Spec     FluxKustomizationSpec `json:"spec"`
}

// FluxKustomizationSpec is a Flux Kustomization spec.
type FluxKustomizationSpec struct {
	Interval   string          `json:"interval"`
	Path       string          `json:"path"`
	Prune      bool            `json:"prune"`
	Wait       bool            `json:"wait,omitempty"`
	Timeout    string          `json:"timeout,omitempty"`
	DependsOn  []Dependency    `json:"dependsOn,omitempty"`
	SourceRef  SourceRef       `json:"sourceRef"`
	Decryption *FluxDecryption `json:"decryption,omitempty"`
	// HealthCheckExprs tell wait when a custom resource is ready.
	HealthCheckExprs []FluxHealthCheckExpr `json:"healthCheckExprs,omitempty"`
}

// FluxHealthCheckExpr is one of a Flux Kustomization's healthCheckExprs:
// CEL expressions over a custom resource of a kind.
type FluxHealthCheckExpr struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Current    string `json:"current"`
}

// FluxDecryption is a Flux Kustomization's decryption settings.
type FluxDecryption struct {
	Provider  string       `json:"provider"`
	SecretRef LocalNameRef `json:"secretRef"`
}

// LocalNameRef names an object in the same namespace.
type LocalNameRef struct {
	Name string `json:"name"`
}

// Argo CD objects (delivery with mesh.gitops.argocd, argocd.go).

// ApplicationSet is an argoproj.io/v1alpha1 ApplicationSet.
type ApplicationSet struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     ApplicationSetSpec `json:"spec"`
}

// ApplicationSetSpec is the part of an ApplicationSet spec meshgen sets.
type ApplicationSetSpec struct {
	GoTemplate        bool                      `json:"goTemplate"`
	GoTemplateOptions []string                  `json:"goTemplateOptions"`
	Generators        []ApplicationSetGenerator `json:"generators"`
	Template          ApplicationTemplate       `json:"template"`
}

// ApplicationSetGenerator is one generator of an ApplicationSet.
type ApplicationSetGenerator struct {
	List *ListGenerator `json:"list"`
}

// ListGenerator generates one Application per element.
type ListGenerator struct {
	Elements []map[string]string `json:"elements"`
}

// ApplicationTemplate is the template of the generated Applications.
type ApplicationTemplate struct {
	Metadata ObjectMeta      `json:"metadata"`
	Spec     ApplicationSpec `json:"spec"`
}

// ApplicationSpec is the part of an Argo CD Application spec meshgen sets.
type ApplicationSpec struct {
	Project           string                 `json:"project"`
	Source            ApplicationSource      `json:"source"`
	Destination       ApplicationDestination `json:"destination"`
	SyncPolicy        *SyncPolicy            `json:"syncPolicy,omitempty"`
	IgnoreDifferences []ResourceIgnoreDiffs  `json:"ignoreDifferences,omitempty"`
}

// ApplicationSource is a Git source of an Application.
type ApplicationSource struct {
	RepoURL        string `json:"repoURL"`
	TargetRevision string `json:"targetRevision"`
	Path           string `json:"path"`
}

// ApplicationDestination is where an Application applies its objects:
// a cluster by API server URL or by its name in Argo CD.
type ApplicationDestination struct {
	Server    string `json:"server"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// SyncPolicy is an Application's sync policy.
type SyncPolicy struct {
	Automated   *SyncPolicyAutomated `json:"automated,omitempty"`
	SyncOptions []string             `json:"syncOptions,omitempty"`
	Retry       *RetryStrategy       `json:"retry,omitempty"`
}

// SyncPolicyAutomated turns on automated sync.
type SyncPolicyAutomated struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

// RetryStrategy retries failed syncs with backoff.
type RetryStrategy struct {
	Limit   int      `json:"limit"`
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is a retry backoff.
type Backoff struct {
	Duration    string `json:"duration"`
	Factor      int    `json:"factor"`
	MaxDuration string `json:"maxDuration"`
}

// ResourceIgnoreDiffs are fields Argo CD leaves out of its diff.
type ResourceIgnoreDiffs struct {
	Group             string   `json:"group"`
	Kind              string   `json:"kind"`
	JQPathExpressions []string `json:"jqPathExpressions"`
}

// ArgoKustomization is a kustomize.config.k8s.io/v1beta1 Kustomization with
// the fields the Argo CD stage kustomizations use.
type ArgoKustomization struct {
	TypeMeta          `json:",inline"`
	Resources         []string          `json:"resources"`
	Generators        []string          `json:"generators,omitempty"`
	HelmCharts        []KustomizeChart  `json:"helmCharts,omitempty"`
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
}

// KustomizeChart is one entry of a kustomization's helmCharts.
type KustomizeChart struct {
	Name         string `json:"name"`
	Repo         string `json:"repo"`
	Version      string `json:"version"`
	ReleaseName  string `json:"releaseName"`
	Namespace    string `json:"namespace"`
	IncludeCRDs  bool   `json:"includeCRDs"`
	ValuesInline any    `json:"valuesInline,omitempty"`
}

// KSOPSGenerator is KSOPS's viaduct.ai/v1 ksops exec KRM function config.
type KSOPSGenerator struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Files    []string   `json:"files"`
}

// OutlierDetection is a DestinationRule's outlierDetection.
type OutlierDetection struct {
	Consecutive5xxErrors int    `json:"consecutive5xxErrors"`
	Interval             string `json:"interval"`
	BaseEjectionTime     string `json:"baseEjectionTime"`
	MaxEjectionPercent   int    `json:"maxEjectionPercent"`
}

// LoadBalancerSettings is a DestinationRule's loadBalancer.
type LoadBalancerSettings struct {
	LocalityLbSetting *LocalityLbSetting `json:"localityLbSetting,omitempty"`
}

// LocalityLbSetting is Istio's locality load balancing of one host.
type LocalityLbSetting struct {
	Enabled          bool     `json:"enabled"`
	FailoverPriority []string `json:"failoverPriority,omitempty"`
}

// SailResource is a sailoperator.io/v1 resource of the Sail operator:
// Istio, IstioRevisionTag (and IstioCNI, ZTunnel), all cluster-scoped.
// One type for the kinds, as their specs share their fields: each kind
// sets only the ones its CRD declares (tests validate every generated
// resource against the vendored CRDs, tools/crds/sail).
type SailResource struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     SailSpec   `json:"spec"`
}

// SailSpec is the part of a Sail resource's spec meshgen sets.
type SailSpec struct {
	// Version is the Istio release, "v1.28.2" as the CRDs' enum spells it.
	Version        string              `json:"version,omitempty"`
	Namespace      string              `json:"namespace,omitempty"`
	Profile        string              `json:"profile,omitempty"`
	UpdateStrategy *SailUpdateStrategy `json:"updateStrategy,omitempty"`
	// Values are the Helm values of the charts the resource installs.
	Values    any            `json:"values,omitempty"`
	TargetRef *SailTargetRef `json:"targetRef,omitempty"`
}

// SailUpdateStrategy is an Istio resource's spec.updateStrategy.
type SailUpdateStrategy struct {
	Type string `json:"type"`
}

// SailTargetRef is an IstioRevisionTag's spec.targetRef.
type SailTargetRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Package inventory defines meshgen's input: one file that lists a mesh's
// networks, clusters and exported services. Load decodes it with the position
// of every value, so that each validation error can name the file, line and
// column it is about; Validate applies the rules that keep the generated mesh
// consistent (one trust domain, reachable gateways, existing references).
package inventory

import (
	"time"

	"gopkg.in/yaml.v3"
)

// APIVersion and Kind identify an inventory document.
const (
	APIVersion = "meshgen/v1alpha1"
	Kind       = "Inventory"
)

// Inventory is the whole input: the mesh, its networks, its clusters and the
// services they export to each other.
type Inventory struct {
	// APIVersion must be "meshgen/v1alpha1".
	APIVersion string `yaml:"apiVersion"`
	// Kind must be "Inventory".
	Kind string `yaml:"kind"`
	// Mesh holds the settings every cluster shares.
	Mesh Mesh `yaml:"mesh"`
	// Networks are the flat networks of the mesh: pods in one network reach
	// each other directly; traffic between networks crosses east-west gateways.
	Networks []Network `yaml:"networks"`
	// Clusters are the Kubernetes clusters that join the mesh.
	Clusters []Cluster `yaml:"clusters"`
	// Services are the services exported from some clusters to others.
	Services []Service `yaml:"services,omitempty"`

	// File is the name the inventory was loaded from, used in messages.
	File string     `yaml:"-"`
	root *yaml.Node // the decoded document, for positions
}

// Mesh holds the settings that must be identical in every cluster.
type Mesh struct {
	// ID is the mesh identifier (values.global.meshID), the same in every cluster.
	ID string `yaml:"id"`
	// TrustDomain is meshConfig.trustDomain, the same in every cluster.
	// Default: cluster.local.
	TrustDomain string `yaml:"trustDomain,omitempty"`
	// Istio pins the Istio release and how it is installed.
	Istio Istio `yaml:"istio"`
	// Dataplane is how workloads join the mesh: "sidecar" (an Envoy
	// sidecar in every pod, the default) or "ambient" (Istio's ambient
	// mode: a ztunnel per node and the istio-cni node agent, HBONE between
	// nodes and through the east-west gateways). Ambient takes what Istio's
	// ambient multicluster supports (Istio 1.27 or later, multi-primary,
	// each cluster on its own network, discovery remote-secrets, exported
	// services visible to every cluster); docs/topology-ambient.md.
	// Default: sidecar.
	Dataplane string `yaml:"dataplane,omitempty"`
	// Discovery selects how clusters learn each other's endpoints:
	// "remote-secrets" (Istio's endpoint discovery: every istiod watches
	// the other clusters' API servers through stored credentials; the same
	// name and namespace is the same service) or "service-entries"
	// (ServiceEntries for exported services under serviceSuffix, no
	// cross-cluster API access beyond a primary's remotes).
	// Default: remote-secrets.
	Discovery string `yaml:"discovery,omitempty"`
	// ServiceSuffix is the DNS suffix of exported hosts with discovery
	// service-entries: <name>.<namespace>.<serviceSuffix>. Default: global.
	ServiceSuffix string `yaml:"serviceSuffix,omitempty"`
	// AddressPool is an optional CIDR (e.g. 240.0.0.0/16) from which, with
	// discovery service-entries, every exported host gets one stable
	// virtual IP, the same in every cluster.
	// Empty: ServiceEntries carry no addresses and Istio allocates them.
	AddressPool string `yaml:"addressPool,omitempty"`
	// PKI describes the shared root CA and the per-cluster intermediates.
	PKI PKI `yaml:"pki,omitempty"`
	// Recipients are the operators' age recipients (age1...): they can
	// decrypt every secret meshgen writes, including the root key.
	Recipients []string `yaml:"recipients,omitempty"`
	// AllowTestOnlyKeys accepts meshgen's test-only age recipients, whose
	// private keys are published in meshgen's repository (testdata/age).
	// Only meshgen's own example sets it; every run it lets through prints a
	// warning with its position. Default: false, and such a recipient is an
	// error.
	AllowTestOnlyKeys bool `yaml:"allowTestOnlyKeys,omitempty"`
	// GitOps optionally asks for the objects that deliver the overlays.
	GitOps *GitOps `yaml:"gitops,omitempty"`
	// TrafficPolicy is the mesh-wide default traffic policy of exported
	// services; a service's own trafficPolicy overrides it field by field.
	// Default: see TrafficPolicy's fields.
	TrafficPolicy *TrafficPolicy `yaml:"trafficPolicy,omitempty"`
}

// Istio pins the Istio release.
type Istio struct {
	// Version is the Istio release (chart version and image tag), e.g.
	// 1.28.2: the single-revision form. Required unless revisions is given,
	// and then not allowed.
	Version string `yaml:"version,omitempty"`
	// Revision is an optional Istio control plane revision, e.g. 1-28.
	// With revisions, it names the revision the single-revision form
	// installed: that revision keeps its HelmRelease (istiod), so that
	// moving to revisions never reinstalls the running control plane.
	// Default: none.
	Revision string `yaml:"revision,omitempty"`
	// Revisions are the control planes that run side by side during a
	// canary upgrade (installer helm or sail, primaries only): each is its
	// own istiod HelmRelease, istiod-<name>, or Sail Istio resource named
	// <name>. docs/upgrades.md walks an upgrade.
	// Default: none (the single revision of version and revision).
	Revisions []Revision `yaml:"revisions,omitempty"`
	// Tags are Istio revision tags, tag name to revision name: namespaces
	// labelled istio.io/rev=<tag> are injected by that revision. The
	// "default" tag also serves istio-injection=enabled, validates
	// Istio config (base chart defaultRevision) and runs the east-west
	// gateway. Required with revisions (at least default); a tag must
	// name a listed revision. Default: none.
	Tags map[string]string `yaml:"tags,omitempty"`
	// Installer is how Istio is installed: "helm" (Flux HelmReleases, the
	// default), "istioctl" (istioctl install -f on the IstioOperator files),
	// "sail" (the Sail operator's sailoperator.io/v1 Istio and
	// IstioRevisionTag resources; the Sail operator is a prerequisite,
	// docs/install-sail.md) or "operator" (IstioOperator objects applied
	// where an in-cluster IstioOperator controller runs: Istio before 1.24
	// only, which removed it).
	Installer string `yaml:"installer,omitempty"`
}

// Revision is one Istio control plane revision.
type Revision struct {
	// Name of the revision (values.revision, the istio.io/rev label), a
	// DNS-1123 label such as 1-28-2; not "default", which Istio reserves
	// for the revision tag.
	Name string `yaml:"name"`
	// Version is the Istio release the revision runs, e.g. 1.28.2.
	Version string `yaml:"version"`
}

// PKI describes the mesh's certificate authorities.
type PKI struct {
	// KeyAlgorithm of every CA key: ecdsa-p256 (default), ecdsa-p384,
	// rsa-2048, rsa-3072 or rsa-4096.
	KeyAlgorithm string `yaml:"keyAlgorithm,omitempty"`
	// Root is the mesh's root CA.
	Root RootCA `yaml:"root,omitempty"`
	// Intermediate is the per-cluster intermediate CA istiod signs with.
	Intermediate IntermediateCA `yaml:"intermediate,omitempty"`
	// TrustedRoots are PEM files (paths relative to the inventory) of
	// further root certificates every cluster trusts beside the signing
	// root: the other root while a root rotation is under way
	// (docs/certificates.md).
	TrustedRoots []string `yaml:"trustedRoots,omitempty"`
}

// RootCA describes the root certificate.
type RootCA struct {
	// CommonName of the root. Default: Root CA.
	CommonName string `yaml:"commonName,omitempty"`
	// Organization of the root. Default: the mesh ID.
	Organization string `yaml:"organization,omitempty"`
	// Validity of a new root, a Go duration. Default: 87600h (10 years).
	Validity Duration `yaml:"validity,omitempty"`
}

// IntermediateCA describes the per-cluster intermediates.
type IntermediateCA struct {
	// Organization of each intermediate. Default: the root's organization.
	Organization string `yaml:"organization,omitempty"`
	// Validity of a new intermediate, a Go duration. Default: 17520h (2 years).
	Validity Duration `yaml:"validity,omitempty"`
	// RenewBefore re-issues an intermediate this long before it expires.
	// Default: 720h (30 days).
	RenewBefore Duration `yaml:"renewBefore,omitempty"`
}

// GitOps selects delivery objects to generate beside the overlays.
type GitOps struct {
	// Flux asks for one Flux Kustomization per cluster.
	Flux *Flux `yaml:"flux,omitempty"`
	// ArgoCD asks for an Argo CD ApplicationSet with one Application per
	// cluster and stage, and the KSOPS kustomizations it syncs
	// (docs/delivery-argocd.md).
	ArgoCD *ArgoCD `yaml:"argocd,omitempty"`
}

// ArgoCD configures the generated Argo CD ApplicationSet.
type ArgoCD struct {
	// RepoURL is the URL of the fleet Git repository as Argo CD knows it,
	// e.g. https://github.com/example/fleet.git or git@github.com:example/fleet.git.
	RepoURL string `yaml:"repoURL"`
	// TargetRevision is the branch, tag or commit Argo CD syncs. Default: HEAD.
	TargetRevision string `yaml:"targetRevision,omitempty"`
	// Project is the Argo CD project of the generated Applications.
	// Default: default.
	Project string `yaml:"project,omitempty"`
	// Path is where meshgen's output directory sits in the Git repository,
	// written like Flux paths. Default: ./ (the repository root).
	Path string `yaml:"path,omitempty"`
}

// Flux configures the generated Flux Kustomizations.
type Flux struct {
	// SourceRef names the GitRepository (in flux-system) holding the fleet repo.
	SourceRef string `yaml:"sourceRef"`
	// DecryptionSecret names the Secret holding the cluster's age key.
	DecryptionSecret string `yaml:"decryptionSecret"`
	// Interval between reconciliations. Default: 10m.
	Interval Duration `yaml:"interval,omitempty"`
	// Path is where meshgen's output directory sits in the Git repository,
	// as Flux paths are written. Default: ./ (the repository root).
	Path string `yaml:"path,omitempty"`
}

// Network is one flat network.
type Network struct {
	// Name of the network (values.global.network, the
	// topology.istio.io/network label): a DNS-1123 label.
	Name string `yaml:"name"`
}

// Cluster is one Kubernetes cluster of the mesh.
type Cluster struct {
	// Name is a DNS-1123 label; it becomes values.global.multiCluster.clusterName
	// and the overlay directory name.
	Name string `yaml:"name"`
	// Network names one of the inventory's networks.
	Network string `yaml:"network"`
	// Role is "primary" (runs istiod, the default) or "remote" (uses the
	// istiod of its primary).
	Role string `yaml:"role,omitempty"`
	// Primary names the primary cluster a remote uses; only for remotes.
	Primary string `yaml:"primary,omitempty"`
	// Locality is the cluster's region and zone, used on endpoints.
	Locality *Locality `yaml:"locality,omitempty"`
	// EastWestGateway is the address other networks reach this cluster at;
	// required when the mesh has more than one network.
	EastWestGateway *EastWestGateway `yaml:"eastWestGateway,omitempty"`
	// APIServer is the cluster's Kubernetes API URL (https://...), needed
	// when other clusters watch it through remote secrets.
	APIServer string `yaml:"apiServer,omitempty"`
	// DestinationName is the name of the cluster in Argo CD (its cluster
	// Secret), the destination of its Applications with mesh.gitops.argocd.
	// Default: none; the Applications then name apiServer as their server.
	DestinationName string `yaml:"destinationName,omitempty"`
	// Recipients are the age recipients of the key Flux or Argo CD in this
	// cluster decrypts with.
	Recipients []string `yaml:"recipients,omitempty"`
}

// Locality is where a cluster runs.
type Locality struct {
	// Region, e.g. eu-west-1.
	Region string `yaml:"region"`
	// Zone, e.g. eu-west-1a; needs a region.
	Zone string `yaml:"zone,omitempty"`
}

// EastWestGateway is how other networks reach a cluster.
type EastWestGateway struct {
	// Address is an IP address or DNS name reachable from the other networks.
	Address string `yaml:"address"`
	// Port of the cross-network TLS listener. Default: 15443; with
	// dataplane ambient 15008, the HBONE port Istio fixes (no other is
	// accepted).
	Port int `yaml:"port,omitempty"`
}

// Service is a service exported from the clusters it runs in.
type Service struct {
	// Name of the Kubernetes Service: a DNS-1123 label.
	Name string `yaml:"name"`
	// Namespace of the Kubernetes Service: a DNS-1123 label.
	Namespace string `yaml:"namespace"`
	// Ports the service exposes; names and numbers unique.
	Ports []Port `yaml:"ports"`
	// Clusters the service runs in (exported from).
	Clusters []string `yaml:"clusters"`
	// ExportTo lists the clusters that may call the service; omitted: every
	// other cluster. An empty list is an error. A cluster outside it gets no endpoint of the service.
	// The clusters one istiod serves must agree: where one of them is
	// outside exportTo and another must reach the service elsewhere, the
	// inventory is rejected.
	ExportTo []string `yaml:"exportTo,omitempty"`
	// TrafficPolicy is how callers balance and fail over between the
	// service's endpoints; unset fields come from mesh.trafficPolicy.
	// Default: see TrafficPolicy's fields.
	TrafficPolicy *TrafficPolicy `yaml:"trafficPolicy,omitempty"`
}

// TrafficPolicy is written into the DestinationRule of an exported host
// (docs/services.md).
type TrafficPolicy struct {
	// Failover is "locality" (callers prefer endpoints in their own
	// region and zone, and use other regions only once those are ejected
	// by outlier detection) or "none" (every endpoint alike). Default:
	// locality when every cluster the service runs in has a locality,
	// none otherwise.
	Failover string `yaml:"failover,omitempty"`
	// FailoverPriority is Istio's localityLbSetting.failoverPriority:
	// ordered label keys (e.g. topology.istio.io/network,
	// topology.kubernetes.io/region); endpoints matching the caller on more
	// leading labels are preferred. Needs failover locality. Default: none
	// (Istio's region, zone, subzone order).
	FailoverPriority []string `yaml:"failoverPriority,omitempty"`
	// OutlierDetection ejects failing endpoints; Istio fails over to
	// another locality only when outlier detection is set. Default, with
	// failover locality: consecutive5xxErrors 5, interval 10s,
	// baseEjectionTime 30s, maxEjectionPercent 100.
	OutlierDetection *OutlierDetection `yaml:"outlierDetection,omitempty"`
}

// OutlierDetection is Istio's DestinationRule outlierDetection.
type OutlierDetection struct {
	// Consecutive5xxErrors ejects an endpoint after this many 5xx replies
	// (or connection failures for TCP) in a row; 0 disables it.
	// Default: 5.
	Consecutive5xxErrors *int `yaml:"consecutive5xxErrors,omitempty"`
	// Interval between ejection sweeps, a Go duration of at least 1ms.
	// Default: 10s.
	Interval Duration `yaml:"interval,omitempty"`
	// BaseEjectionTime is how long an endpoint stays ejected the first
	// time, a Go duration of at least 1ms. Default: 30s.
	BaseEjectionTime Duration `yaml:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent of endpoints that may be ejected at once, 0-100.
	// Default: 100, so that a locality whose every endpoint fails is
	// emptied and traffic fails over.
	MaxEjectionPercent *int `yaml:"maxEjectionPercent,omitempty"`
}

// Port is one port of an exported service.
type Port struct {
	// Name of the port, e.g. http.
	Name string `yaml:"name"`
	// Port number, 1-65535.
	Port int `yaml:"port"`
	// Protocol as Istio names it: HTTP, HTTPS, HTTP2, GRPC, TCP, TLS, ...
	Protocol string `yaml:"protocol"`
}

// Duration is a Go duration written as a string, e.g. 8760h.
type Duration struct{ time.Duration }

// String returns the Go duration syntax.
func (d Duration) String() string { return d.Duration.String() }

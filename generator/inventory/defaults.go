package inventory

import (
	"time"

	meshpki "github.com/meshgen/meshgen/generator/pki"
)

// Defaults of optional fields, as documented on the fields.
const (
	DefaultTrustDomain    = "cluster.local"
	DefaultDiscovery      = "remote-secrets"
	DefaultServiceSuffix  = "global"
	DefaultInstaller      = "helm"
	DefaultDataplane      = DataplaneSidecar
	DataplaneSidecar      = "sidecar"
	DataplaneAmbient      = "ambient"
	DefaultKeyAlgorithm   = string(meshpki.DefaultAlgorithm)
	DefaultRootCommonName = "Root CA"
	DefaultGatewayPort    = 15443
	DefaultRootValidity   = 87600 * time.Hour
	DefaultInterValidity  = 17520 * time.Hour
	DefaultRenewBefore    = 720 * time.Hour
	DefaultFluxInterval   = 10 * time.Minute
	DefaultArgoRevision   = "HEAD"
	DefaultArgoProject    = "default"
	RolePrimary           = "primary"
	RoleRemote            = "remote"
)

// IstioVersion is the Istio release meshgen targets: the version its
// examples pin (mesh.istio.version) and its schema suggests. An inventory
// may name another release; meshgen installs the one it names.
const IstioVersion = "1.28.2"

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (inv *Inventory) applyDefaults() {
	m := &inv.Mesh
	setDefault(&m.TrustDomain, DefaultTrustDomain)
	setDefault(&m.Discovery, DefaultDiscovery)
	setDefault(&m.ServiceSuffix, DefaultServiceSuffix)
	setDefault(&m.Istio.Installer, DefaultInstaller)
	setDefault(&m.Dataplane, DefaultDataplane)
	setDefault(&m.PKI.KeyAlgorithm, DefaultKeyAlgorithm)
	setDefault(&m.PKI.Root.CommonName, DefaultRootCommonName)
	setDefault(&m.PKI.Root.Organization, m.ID)
	setDefault(&m.PKI.Intermediate.Organization, m.PKI.Root.Organization)
	setDefault(&m.PKI.Root.Validity, Duration{DefaultRootValidity})
	setDefault(&m.PKI.Intermediate.Validity, Duration{DefaultInterValidity})
	setDefault(&m.PKI.Intermediate.RenewBefore, Duration{DefaultRenewBefore})
	if m.GitOps != nil && m.GitOps.Flux != nil {
		setDefault(&m.GitOps.Flux.Interval, Duration{DefaultFluxInterval})
		setDefault(&m.GitOps.Flux.Path, "./")
	}
	if m.GitOps != nil && m.GitOps.ArgoCD != nil {
		setDefault(&m.GitOps.ArgoCD.TargetRevision, DefaultArgoRevision)
		setDefault(&m.GitOps.ArgoCD.Project, DefaultArgoProject)
		setDefault(&m.GitOps.ArgoCD.Path, "./")
	}
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		setDefault(&c.Role, RolePrimary)
		if c.EastWestGateway != nil {
			port := DefaultGatewayPort
			if m.Ambient() {
				port = AmbientHBONEPort
			}
			setDefault(&c.EastWestGateway.Port, port)
		}
	}
}

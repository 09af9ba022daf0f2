package generator

import "path"

// The layout of the output directory: every path meshgen writes, and the
// roots it owns there. Nothing else in meshgen spells a path out.
//
//	.sops.yaml                                creation rules for sops edit
//	MESH.md                                   the reviewers' page
//	pki/root-cert.pem, pki/root-ca.sops.yaml  the mesh root CA
//	credentials/<cluster>.sops.yaml           stored API credentials (input)
//	overlays/<cluster>/kustomization.yaml     both stages
//	overlays/<cluster>/install/...            Istio, gateway, cacerts
//	overlays/<cluster>/mesh/...               Istio config, remote secrets
//	flux/<cluster>.yaml                       Flux Kustomizations per stage
//	argocd/applicationset.yaml                Argo CD delivery
//	argocd/<cluster>/<stage>/...

// OwnedRoots are the only places of the output directory meshgen looks at.
// Within them a file is meshgen's when its first line carries the
// generated-file marker; every other file is left alone.
var OwnedRoots = []string{SopsConfigPath, MeshMDPath, ArgoCDDir, credentialsDir, fluxDir, overlaysDir, pkiDir}

// InputRoots hold files other commands write and generate only reads.
var InputRoots = []string{credentialsDir}

const (
	overlaysDir    = "overlays"
	pkiDir         = "pki"
	fluxDir        = "flux"
	credentialsDir = "credentials"

	// SopsConfigPath holds the creation rules sops uses when an operator
	// edits a secret by hand.
	SopsConfigPath = ".sops.yaml"

	// MeshMDPath is the reviewers' page at the output root: the topology as
	// a Mermaid diagram, then tables of clusters, networks, exported
	// services and routes.
	MeshMDPath = "MESH.md"

	// RootCertPath and RootCAPath are the mesh-wide PKI files: the public
	// root (and trust bundle), and the root CA with its encrypted key.
	RootCertPath = pkiDir + "/root-cert.pem"
	RootCAPath   = pkiDir + "/root-ca.sops.yaml"

	// ArgoCDDir is the directory of the Argo CD objects.
	ArgoCDDir = "argocd"
	// ApplicationSetPath is the file of the mesh's ApplicationSet.
	ApplicationSetPath = ArgoCDDir + "/applicationset.yaml"

	// Each overlay has two stages, because Flux server-side dry-runs every
	// object of a Kustomization before applying any (cluster.go).
	installStage = "install"
	meshStage    = "mesh"

	cacertsFile      = "cacerts.sops.yaml"
	remoteSecretsDir = "remote-secrets"
)

// OverlayDir is the overlay directory of a cluster.
func OverlayDir(cluster string) string { return path.Join(overlaysDir, cluster) }

// StageDir is the directory of one stage of a cluster's overlay.
func StageDir(cluster, stage string) string { return path.Join(OverlayDir(cluster), stage) }

// ArgoStageDir is the Argo CD kustomization of one stage of a cluster.
func ArgoStageDir(cluster, stage string) string { return path.Join(ArgoCDDir, cluster, stage) }

// FluxPath is the Flux Kustomizations of a cluster.
func FluxPath(cluster string) string { return path.Join(fluxDir, cluster+".yaml") }

// CacertsPath is the encrypted cacerts Secret of a cluster that runs istiod.
func CacertsPath(cluster string) string {
	return path.Join(StageDir(cluster, installStage), cacertsFile)
}

// RemoteSecretPath is the remote secret in cluster's overlay that lets its
// istiod watch the API server of watched.
func RemoteSecretPath(cluster, watched string) string {
	return path.Join(StageDir(cluster, meshStage), remoteSecretsDir, watched+".sops.yaml")
}

// ServiceEntriesPath is the ServiceEntries of a config cluster.
func ServiceEntriesPath(cluster string) string {
	return path.Join(StageDir(cluster, meshStage), serviceEntriesFile)
}

// CredentialPath is where the stored API credential of a cluster lives.
func CredentialPath(cluster string) string { return path.Join(credentialsDir, cluster+".sops.yaml") }

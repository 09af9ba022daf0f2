package generator

import (
	"strings"

	"github.com/meshgen/meshgen/generator/inventory"
)

// fluxFile is flux/<cluster>.yaml: the Flux Kustomizations that deliver a
// cluster's overlay, one per stage. The mesh stage depends on the install
// stage, whose `wait` holds it back until the HelmReleases (or the Sail
// Istio resources) are ready, so Istio's CRDs exist before Flux dry-runs
// the Gateways and ServiceEntries, and istiod injects before the east-west
// gateway of installer sail starts.
func (g *gen) fluxFile(c *inventory.Cluster) []byte {
	f := g.inv.Mesh.GitOps.Flux
	base := strings.TrimSuffix(f.Path, "/")
	interval := fluxDuration(f.Interval.Duration)
	ks := func(stage string) *FluxKustomization {
		return &FluxKustomization{
			TypeMeta: TypeMeta{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization"},
			Metadata: ObjectMeta{Name: c.Name + "-istio-" + stage, Namespace: "flux-system"},
			Spec: FluxKustomizationSpec{
				Interval:   interval,
				Path:       base + "/" + StageDir(c.Name, stage),
				Prune:      true,
				SourceRef:  SourceRef{Kind: "GitRepository", Name: f.SourceRef},
				Decryption: &FluxDecryption{Provider: "sops", SecretRef: LocalNameRef{Name: f.DecryptionSecret}},
			},
		}
	}
	install, mesh := ks(installStage), ks(meshStage)
	install.Spec.Wait = true
	install.Spec.Timeout = "15m"
	if g.inv.Mesh.Istio.Installer == inventory.InstallerSail {
		install.Spec.HealthCheckExprs = sailHealthChecks(g.topo.Ambient)
	}
	mesh.Spec.DependsOn = []Dependency{{Name: install.Metadata.Name}}
	return g.marshalDocs(install, mesh)
}

package generator

import (
	"fmt"
	"path"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Build runs kustomize (krusty) on the overlay of cluster within files, a
// tree keyed by slash path, entirely in memory, and returns the built YAML
// stream: what Flux or Argo CD would apply.
func Build(files map[string][]byte, cluster string) ([]byte, error) {
	fs := filesys.MakeFsInMemory()
	for p, data := range files {
		if err := fs.MkdirAll(path.Dir("/" + p)); err != nil {
			return nil, err
		}
		if err := fs.WriteFile("/"+p, data); err != nil {
			return nil, err
		}
	}
	dir := "/" + OverlayDir(cluster)
	if !fs.Exists(dir + "/kustomization.yaml") {
		return nil, fmt.Errorf("no overlay for cluster %q (%s/kustomization.yaml is missing)", cluster, OverlayDir(cluster))
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", OverlayDir(cluster), err)
	}
	return m.AsYaml()
}

// Files returns the tree as a map keyed by path.
func (t *Tree) Map() map[string][]byte {
	m := make(map[string][]byte, len(t.Files))
	for _, f := range t.Files {
		m[f.Path] = f.Data
	}
	return m
}

// Package oracle runs Istio's own control plane on a tree meshgen generated
// and reports the routes it computes: for every exported service, port and
// calling cluster, the endpoints a sidecar in that cluster gets, through
// which east-west gateway, and whether each is reached with Istio mTLS.
//
// Every istiod the tree installs is simulated in-process with pilot's fake
// discovery server (istio.io/istio/pilot/test/xds). What each one reads is
// modelled as Istio reads it in a real fleet:
//   - Istio config (networking.istio.io, security.istio.io) only from its own
//     cluster: the objects of that cluster's overlay, built with kustomize;
//     a remote's overlay is applied to an API server no istiod reads config from;
//   - Kubernetes objects of its own cluster and of every cluster it holds a
//     remote secret for (the secrets in its overlay): the overlay's own
//     Namespaces and Services, an east-west gateway Service wherever the tree
//     installs one (with the inventory's address as its load-balancer address),
//     and synthetic workloads (Service, Pod with a sidecar, EndpointSlice) for
//     each exported service in each cluster the inventory runs it in;
//   - MeshConfig, network and cluster name from the tree's istiod values.
//
// A remote's sidecars connect to the istiod its values point at
// (global.remotePilotAddress, the address of a primary's east-west gateway).
package oracle

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Tree is a generated tree: slash-separated paths relative to the output
// directory, and their contents.
type Tree map[string][]byte

// TreeFromTxtar reads a golden archive: inventory.yaml first, then the files
// generated from it. It returns the inventory bytes and the tree.
func TreeFromTxtar(file string) ([]byte, Tree, error) {
	arch, err := txtar.ParseFile(file)
	if err != nil {
		return nil, nil, err
	}
	if len(arch.Files) == 0 || arch.Files[0].Name != "inventory.yaml" {
		return nil, nil, fmt.Errorf("%s: first file must be inventory.yaml", file)
	}
	t := Tree{}
	for _, f := range arch.Files[1:] {
		t[f.Name] = f.Data
	}
	return arch.Files[0].Data, t, nil
}

// TreeFromDir reads the overlays of a generated tree on disk.
func TreeFromDir(dir string) (Tree, error) {
	t := Tree{}
	root := filepath.Join(dir, "overlays")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		t[filepath.ToSlash(rel)] = data
		return nil
	})
	return t, err
}

// Build runs kustomize on a cluster's overlay exactly as `kustomize build
// overlays/<cluster>` would, on an in-memory copy of the tree. It returns
// nil when the tree has no overlay for the cluster.
func (t Tree) Build(cluster string) (resmap.ResMap, error) {
	dir := path.Join("overlays", cluster)
	if _, ok := t[dir+"/kustomization.yaml"]; !ok {
		return nil, nil
	}
	fsys := filesys.MakeFsInMemory()
	for _, p := range t.paths() {
		if !strings.HasPrefix(p, "overlays/") {
			continue
		}
		if err := fsys.MkdirAll("/" + path.Dir(p)); err != nil {
			return nil, err
		}
		if err := fsys.WriteFile("/"+p, t[p]); err != nil {
			return nil, err
		}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	return k.Run(fsys, "/"+dir)
}

func (t Tree) paths() []string {
	ps := make([]string, 0, len(t))
	for p := range t {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// docs splits a file of the tree into YAML documents.
func (t Tree) docs(p string) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(t[p], []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

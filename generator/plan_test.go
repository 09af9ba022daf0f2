package generator

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
)

// TestPlan: what Plan asks cmd/meshgen to do for each state a generated
// file can be found in.
func TestPlan(t *testing.T) {
	d := &Disk{
		Files: map[string][]byte{
			"MESH.md":                              []byte("same"),
			"overlays/a/kustomization.yaml":        []byte("old"),
			"overlays/a/install/cacerts.sops.yaml": []byte("secret"),
			"overlays/gone/kustomization.yaml":     []byte("gone"),
			"credentials/a.sops.yaml":              []byte("input"),
		},
		Modes: map[string]fs.FileMode{
			"MESH.md": 0o644, "overlays/a/kustomization.yaml": 0o644,
			"overlays/a/install/cacerts.sops.yaml": 0o644, "overlays/gone/kustomization.yaml": 0o644,
		},
		Foreign: map[string]bool{},
		Stale:   []string{"pki/.root-cert.pem.meshgen-0123456789ab.tmp"},
	}
	tree := &Tree{Files: []File{
		{Path: "MESH.md", Data: []byte("same")},
		{Path: "overlays/a/install/cacerts.sops.yaml", Data: []byte("secret"), Secret: true},
		{Path: "overlays/a/kustomization.yaml", Data: []byte("new")},
		{Path: "overlays/b/kustomization.yaml", Data: []byte("added")},
	}}
	changes, err := Plan(d, tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, string(c.Op)+" "+c.Path)
	}
	want := []string{
		"P credentials/a.sops.yaml",              // a stored credential is a secret too
		"P overlays/a/install/cacerts.sops.yaml", // a fresh clone's 0644 secret
		"M overlays/a/kustomization.yaml",
		"A overlays/b/kustomization.yaml",
		"D overlays/gone/kustomization.yaml",
		"T pki/.root-cert.pem.meshgen-0123456789ab.tmp",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Plan =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if drift := Drift(changes); len(drift) != 3 {
		t.Errorf("Drift kept %d changes, want the 3 that change content", len(drift))
	}

	d.Foreign["overlays/b"] = true // a user's file where a directory must go
	var ce *ConflictError
	// The file in the way is named once, not every path behind it.
	if _, err := Plan(d, tree); !errors.As(err, &ce) || !slices.Equal(ce.Paths, []string{"overlays/b"}) {
		t.Errorf("a foreign parent: err = %v", err)
	}
}

// TestLayoutOwnsEveryPath ties the layout to what Generate writes: every
// file of every golden tree lies below one of OwnedRoots and is local, and
// every owned root is written by some scenario (or is an input root).
func TestLayoutOwnsEveryPath(t *testing.T) {
	used := map[string]bool{}
	for _, sc := range loadScenarios(t) {
		for _, f := range sc.arch.Files[1:] {
			root, _, _ := strings.Cut(f.Name, "/")
			if !slices.Contains(OwnedRoots, root) {
				t.Errorf("%s: %s is outside the owned roots %v", sc.file, f.Name, OwnedRoots)
			}
			if path.Clean(f.Name) != f.Name || path.IsAbs(f.Name) || strings.HasPrefix(f.Name, "../") {
				t.Errorf("%s: %s is not a clean local path", sc.file, f.Name)
			}
			used[root] = true
		}
	}
	for _, r := range OwnedRoots {
		if !used[r] {
			t.Errorf("owned root %s is written by no golden scenario", r)
		}
	}
	for _, r := range InputRoots {
		if !slices.Contains(OwnedRoots, r) {
			t.Errorf("input root %s is not an owned root", r)
		}
	}
}

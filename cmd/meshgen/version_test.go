package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/meshgen/meshgen/generator/inventory"
)

// TestVersion covers the builds meshgen meets: a release installed with go
// install, a build from a Git checkout (pseudo-version and commit), and a
// build Go could not stamp (no VCS, or no build information at all). Each
// names the module and the Istio release meshgen targets.
func TestVersion(t *testing.T) {
	istio := "istio:  " + inventory.IstioVersion + " (the release meshgen's examples pin; an inventory's mesh.istio.version chooses what is installed)\n"
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.2.0"}},
			"meshgen v0.2.0\nmodule: github.com/meshgen/meshgen\ncommit: not recorded (built without VCS information)\n" + istio},
		{"checkout", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.0.0-20261130060000-518f234abcde+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "518f234abcdef"}, {Key: "vcs.modified", Value: "true"}}},
			"meshgen v0.0.0-20261130060000-518f234abcde+dirty\nmodule: github.com/meshgen/meshgen\ncommit: 518f234abcdef (modified)\n" + istio},
		{"no VCS", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}},
			"meshgen (devel)\nmodule: github.com/meshgen/meshgen\ncommit: not recorded (built without VCS information)\n" + istio},
		{"no build info", nil,
			"meshgen (devel)\nmodule: github.com/meshgen/meshgen\ncommit: not recorded (built without VCS information)\n" + istio},
	} {
		var b bytes.Buffer
		writeVersion(&b, tc.bi)
		if b.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, b.String(), tc.want)
		}
	}
}

// TestExamplesPinIstioVersion ties inventory.IstioVersion, which meshgen
// version prints, to the version the example inventories pin.
func TestExamplesPinIstioVersion(t *testing.T) {
	files, _ := filepath.Glob("../../docs/examples/*.yaml")
	files = append(files, "../../inventory.example.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Mesh struct {
				Istio struct {
					Version string `yaml:"version"`
				} `yaml:"istio"`
			} `yaml:"mesh"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc.Mesh.Istio.Version != inventory.IstioVersion {
			t.Errorf("%s: mesh.istio.version is %q, meshgen targets %s", f, doc.Mesh.Istio.Version, inventory.IstioVersion)
		}
	}
	if len(files) < 4 {
		t.Errorf("only %d example inventories found", len(files))
	}
}

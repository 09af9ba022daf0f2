package generator

import (
	"io/fs"
	"testing"

	"github.com/meshgen/meshgen/templates"
)

// TestTemplatesDecodeStrictly fails when a template carries a field its
// typed value does not model (it would silently be dropped otherwise).
func TestTemplatesDecodeStrictly(t *testing.T) {
	typed := map[string]func() []any{
		"control-plane.yaml":            func() []any { return []any{&IstioOperator{}} },
		"eastwest-gateway.yaml":         func() []any { return []any{&IstioOperator{}} },
		"cross-network-gateway.yaml":    func() []any { return []any{&Gateway{}} },
		"expose-istiod.yaml":            func() []any { return []any{&Gateway{}, &VirtualService{}} },
		"helmreleases.yaml":             func() []any { return []any{&HelmRepository{}, &HelmRelease{}, &HelmRelease{}, &HelmRelease{}} },
		"ambient-helmreleases.yaml":     func() []any { return []any{&HelmRelease{}, &HelmRelease{}} },
		"ambient-eastwest-gateway.yaml": func() []any { return []any{&KubeGateway{}} },
	}
	names, _ := fs.Glob(templates.FS, "*.yaml")
	for _, name := range names {
		mk, ok := typed[name]
		if !ok {
			t.Errorf("template %s has no typed value in this test", name)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %v", name, r)
				}
			}()
			loadTemplate(name, mk()...)
		}()
	}
}

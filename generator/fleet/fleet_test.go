package fleet

import (
	"os"
	"testing"
)

// TestWrite writes fleet inventories when MESHGEN_FLEET_DIR is set, for
// measuring the CLI by hand (docs/performance.md).
func TestWrite(t *testing.T) {
	dir := os.Getenv("MESHGEN_FLEET_DIR")
	if dir == "" {
		t.Skip("set MESHGEN_FLEET_DIR to write fleet-M.yaml and fleet-L.yaml there")
	}
	for name, s := range map[string]Spec{"fleet-M.yaml": M, "fleet-L.yaml": L} {
		if err := os.WriteFile(dir+"/"+name, Inventory(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

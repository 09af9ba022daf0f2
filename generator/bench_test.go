package generator

import (
	"testing"

	"github.com/meshgen/meshgen/generator/fleet"
	"github.com/meshgen/meshgen/generator/inventory"
)

func loadFleet(b *testing.B, s fleet.Spec) *inventory.Inventory {
	b.Helper()
	return loadValid(b, "fleet.yaml", fleet.Inventory(s))
}

// benchmarkNoChange measures a regeneration with the whole previous tree as
// input and nothing to issue: the pre-commit hook case.
func benchmarkNoChange(b *testing.B, s fleet.Spec) {
	inv := loadFleet(b, s)
	first, err := Generate(inv, testOptions(nil))
	if err != nil {
		b.Fatal(err)
	}
	prior := first.Map()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opts := testOptions(prior)
		opts.Identities = nil
		if _, err := Generate(inv, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateNoChangeFleetM(b *testing.B) { benchmarkNoChange(b, fleet.M) }
func BenchmarkGenerateNoChangeFleetL(b *testing.B) { benchmarkNoChange(b, fleet.L) }

func BenchmarkLoadFleetL(b *testing.B) {
	data := fleet.Inventory(fleet.L)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		inv, err := inventory.Load("fleet.yaml", data)
		if err == nil {
			err = inv.Validate()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

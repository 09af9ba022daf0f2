package generator

import (
	"maps"
	"testing"

	"github.com/meshgen/meshgen/generator/fleet"
	"github.com/meshgen/meshgen/generator/topology"
)

// BenchmarkServiceEntriesNoChangeFleetL measures the ServiceEntry phase of
// a no-op regenerate of fleet-L: reading the prior addresses back, building
// and marshalling every entry.
func BenchmarkServiceEntriesNoChangeFleetL(b *testing.B) {
	inv := loadFleet(b, fleet.L)
	first, err := Generate(inv, testOptions(nil))
	if err != nil {
		b.Fatal(err)
	}
	g := &gen{inv: inv, topo: topology.New(inv), opts: testOptions(first.Map())}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := g.serviceEntries(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPriorVIPsFleetL measures reading fleet-L's prior addresses on a
// no-op regenerate: the scan (guess) and the check of every file against
// the entries built from it (verify), or a YAML decode of every file
// (decode), which the check avoids.
func BenchmarkPriorVIPsFleetL(b *testing.B) {
	inv := loadFleet(b, fleet.L)
	first, err := Generate(inv, testOptions(nil))
	if err != nil {
		b.Fatal(err)
	}
	g := &gen{inv: inv, topo: topology.New(inv), opts: testOptions(first.Map())}
	guess := g.scanPriorVIPs()
	ses, err := g.buildServiceEntries(guess)
	if err != nil {
		b.Fatal(err)
	}
	files := g.marshalServiceEntryFiles(ses)
	b.Run("guess", func(b *testing.B) {
		for b.Loop() {
			g.scanPriorVIPs()
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if !maps.Equal(g.priorVIPs(ses, files), guess) {
				b.Fatal("the scan and the check disagree on meshgen's own tree")
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if !maps.Equal(g.priorVIPs(nil, nil), guess) {
				b.Fatal("the scan and the decode disagree on meshgen's own tree")
			}
		}
	})
}

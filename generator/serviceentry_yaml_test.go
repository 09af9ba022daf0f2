package generator

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/generator/topology"
)

// TestServiceEntryYAML holds toYAML byte-identical to
// sigs.k8s.io/yaml for every ServiceEntry of the golden scenarios and for
// random ones full of strings YAML treats specially.
func TestServiceEntryYAML(t *testing.T) {
	var ses []*ServiceEntry
	for _, sc := range loadScenarios(t) {
		g := &gen{inv: sc.inv, topo: topology.New(sc.inv), opts: testOptions(nil), tree: &Tree{Reasons: map[string]string{}}}
		byCluster, _, err := g.serviceEntries()
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range byCluster {
			ses = append(ses, list...)
		}
	}
	if len(ses) == 0 {
		t.Fatal("no ServiceEntries in the golden scenarios")
	}
	tricky := []string{"true", "no", "yes", "null", "~", "0", "0x1f", "1e3", "08", "1_000", "-", "a:b", "a: b",
		"#x", "x#y", "'q'", "\"q\"", "*x", "&x", "!x", "%x", "@x", "`x", "[x]", "{x}", "x,y", "y", "n", "on", "off",
		"1.10", "2001:db8::1", "240.0.0.1", "a-b.c", "ÄÖ", " x", "x ", "?x", "|", ">", "=", "<<",
		"1.2.3", "1.2.3.", "10.0.0.1", "a/b", "a_b", "a.", "a-", "inf", "nan", "e1", "x1e3", "0.0.0.0", "1..2.3",
		"eu-west-1/eu-west-1a", "security.istio.io/tlsmode", "yes.", "y-", "null0", "Yes", "NO", "tRUE"}
	r := rand.New(rand.NewSource(1))
	pick := func() string { return tricky[r.Intn(len(tricky))] }
	for i := 0; i < 500; i++ {
		se := &ServiceEntry{
			TypeMeta: TypeMeta{APIVersion: pick(), Kind: pick()},
			Metadata: ObjectMeta{Name: pick(), Namespace: pick(), Labels: map[string]string{pick(): pick()}},
			Spec: ServiceEntrySpec{
				Hosts: []string{pick(), pick()}, Addresses: []string{pick()},
				Ports:    []SEPort{{Number: r.Intn(70000), Name: pick(), Protocol: pick()}},
				Location: pick(), Resolution: pick(),
				Endpoints: []WorkloadEntry{{Address: pick(), Ports: map[string]int{pick(): r.Intn(9), pick(): 1},
					Labels: map[string]string{pick(): pick()}, Network: pick(), Locality: pick()}},
			},
		}
		if i%7 == 0 {
			se.Spec.Endpoints[0].Labels, se.Spec.Endpoints[0].Ports, se.Metadata.Labels = nil, nil, nil
			se.Spec.Addresses = nil
		}
		ses = append(ses, se)
	}
	for i, se := range ses {
		want, err := yaml.Marshal(se)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := toYAML(se); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ServiceEntry %d differs from sigs.k8s.io/yaml:\ngot:\n%s\nwant:\n%s", i, got, want)
		}
	}
	t.Log(fmt.Sprint(len(ses), " ServiceEntries compared"))
}

package oracle

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/fleet"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/sops"
	"github.com/meshgen/meshgen/generator/topology"
)

// fleetTree generates a synthetic fleet's tree in memory, with a stored
// test-only credential for every cluster so that remote secrets can be
// written whatever the discovery mode.
func fleetTree(tb testing.TB, data []byte) (*inventory.Inventory, Tree) {
	tb.Helper()
	inv, err := inventory.Load("fleet.yaml", data)
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		tb.Fatal(err)
	}
	ids, err := sops.IdentitiesFromEnv(func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return "../../testdata/age/test-only-operator.agekey"
		}
		return ""
	}, os.ReadFile)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := os.ReadFile("../../testdata/test-only-api-ca.pem")
	if err != nil {
		tb.Fatal(err)
	}
	opts := generator.Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Identities: ids, Prior: map[string][]byte{}}
	for _, c := range inv.Clusters {
		data, err := generator.EncryptCredential(secrets.Credential{Cluster: c.Name, Token: "test-only-token-" + c.Name, CA: ca}, inv.Mesh.Recipients, opts)
		if err != nil {
			tb.Fatal(err)
		}
		opts.Prior[generator.CredentialPath(c.Name)] = data
	}
	out, err := generator.Generate(inv, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tree := Tree{}
	for _, f := range out.Files {
		tree[f.Path] = f.Data
	}
	return inv, tree
}

// BenchmarkSimulateFleetM simulates fleet-M (50 clusters on 2 networks,
// 1,000 services): one istiod per primary, every route of every service.
// docs/performance.md records the result.
func BenchmarkSimulateFleetM(b *testing.B) {
	benchmarkSimulate(b, fleet.Inventory(fleet.M))
}

// BenchmarkSimulateFleetMRemoteSecrets is fleet-M with Istio's endpoint
// discovery: every istiod watches all 50 clusters' API servers.
func BenchmarkSimulateFleetMRemoteSecrets(b *testing.B) {
	data := string(fleet.Inventory(fleet.M))
	data = strings.Replace(data, "discovery: service-entries", "discovery: remote-secrets", 1)
	data = regexp.MustCompile(`(?m)^  - name: (c\d+)\n`).ReplaceAllString(data, "  - name: $1\n    apiServer: https://$1.api.example.net:6443\n")
	benchmarkSimulate(b, []byte(data))
}

func benchmarkSimulate(b *testing.B, data []byte) {
	inv, tree := fleetTree(b, data)
	want := topology.Routes(inv)
	b.ResetTimer()
	for b.Loop() {
		res, err := Simulate(b, inv, tree, want)
		if err != nil {
			b.Fatal(err)
		}
		held := len(want) - len(Compare(want, res))
		b.ReportMetric(float64(len(want)), "routes")
		b.ReportMetric(float64(held), "held")
	}
}

// BenchmarkSimulateSmallRemoteSecrets is a small fleet with endpoint
// discovery, for profiling.
func BenchmarkSimulateSmallRemoteSecrets(b *testing.B) {
	data := string(fleet.Inventory(fleet.Spec{Clusters: 10, Networks: 2, Services: 200, RunsIn: 2, ExportTo: 4, AddressPool: "240.0.0.0/12"}))
	data = strings.Replace(data, "discovery: service-entries", "discovery: remote-secrets", 1)
	data = regexp.MustCompile(`(?m)^  - name: (c\d+)\n`).ReplaceAllString(data, "  - name: $1\n    apiServer: https://$1.api.example.net:6443\n")
	benchmarkSimulate(b, []byte(data))
}

package main

import (
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
)

// Patterns of the value rules in inventory/validate.go that a regular
// expression states exactly. The tests check the enums below against
// Validate, so that the two cannot drift apart silently.
const (
	dnsLabel     = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	dnsSubdomain = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	version      = `^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`
	locality     = `^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	// An age X25519 recipient: "age1" and 58 characters of its checksummed
	// base32 alphabet (age.ParseX25519Recipient checks the rest).
	ageRecipient = `^age1[02-9ac-hj-np-z]{58}$`
)

// Enums of the inventory's string choices.
var (
	installers    = inventory.Installers
	discoveries   = []string{"service-entries", "remote-secrets"}
	dataplanes    = []string{inventory.DataplaneSidecar, inventory.DataplaneAmbient}
	roles         = []string{inventory.RolePrimary, inventory.RoleRemote}
	failovers     = []string{inventory.FailoverLocality, inventory.FailoverNone}
	keyAlgorithms = pki.AlgorithmNames()
)

// rule adds what the Go type cannot say about a field.
type rule struct {
	required bool // required although the field is omitempty
	apply    func(*schema)
}

func label(s *schema)     { s.Pattern, s.MaxLength = dnsLabel, 63 }
func subdomain(s *schema) { s.Pattern, s.MaxLength = dnsSubdomain, 253 }
func port(s *schema)      { s.Minimum, s.Maximum = ptr(1), ptr(65535) }
func ptr(i int) *int      { return &i }

func enum(values []string, def string) func(*schema) {
	return func(s *schema) {
		s.Enum = values
		if def != "" {
			s.Default = def
		}
	}
}

func def(v any) func(*schema) { return func(s *schema) { s.Default = v } }

// recipients: a non-empty list of distinct age recipients.
func recipients(s *schema) {
	s.MinItems, s.UniqueItems = 1, true
	s.Items.Pattern = ageRecipient
}

// clusterRefs: a list of distinct cluster names.
func clusterRefs(minItems int) func(*schema) {
	return func(s *schema) {
		s.MinItems, s.UniqueItems = minItems, true
		label(s.Items)
	}
}

func all(fs ...func(*schema)) func(*schema) {
	return func(s *schema) {
		for _, f := range fs {
			f(s)
		}
	}
}

// rules by "GoType.GoField".
var rules = map[string]rule{
	"Inventory.APIVersion": {apply: func(s *schema) { s.Const = inventory.APIVersion }},
	"Inventory.Kind":       {apply: func(s *schema) { s.Const = inventory.Kind }},
	"Inventory.Networks":   {apply: func(s *schema) { s.MinItems = 1 }},
	"Inventory.Clusters":   {apply: func(s *schema) { s.MinItems = 1 }},

	"Mesh.ID":            {apply: subdomain},
	"Mesh.TrustDomain":   {apply: all(subdomain, def(inventory.DefaultTrustDomain))},
	"Mesh.Discovery":     {apply: enum(discoveries, inventory.DefaultDiscovery)},
	"Mesh.Dataplane":     {apply: enum(dataplanes, inventory.DefaultDataplane)},
	"Mesh.ServiceSuffix": {apply: all(subdomain, def(inventory.DefaultServiceSuffix))},
	"Mesh.AddressPool":   {apply: func(s *schema) { s.Examples = []any{"240.240.0.0/16"} }},
	"Mesh.Recipients":    {required: true, apply: recipients},

	"Istio.Version":   {apply: func(s *schema) { s.Pattern, s.Examples = version, []any{inventory.IstioVersion} }},
	"Istio.Revision":  {apply: label},
	"Istio.Installer": {apply: enum(installers, inventory.DefaultInstaller)},

	"Revision.Name":    {apply: label},
	"Revision.Version": {apply: func(s *schema) { s.Pattern, s.Examples = version, []any{inventory.IstioVersion} }},

	"TrafficPolicy.Failover":                {apply: enum(failovers, "")},
	"OutlierDetection.Consecutive5xxErrors": {apply: func(s *schema) { s.Minimum, s.Default = ptr(0), inventory.DefaultConsecutive5xxErrors }},
	"OutlierDetection.Interval":             {apply: def(inventory.DefaultOutlierInterval.String())},
	"OutlierDetection.BaseEjectionTime":     {apply: def(inventory.DefaultBaseEjectionTime.String())},
	"OutlierDetection.MaxEjectionPercent": {apply: func(s *schema) {
		s.Minimum, s.Maximum, s.Default = ptr(0), ptr(100), inventory.DefaultMaxEjectionPercent
	}},

	"PKI.KeyAlgorithm":           {apply: enum(keyAlgorithms, inventory.DefaultKeyAlgorithm)},
	"RootCA.CommonName":          {apply: def(inventory.DefaultRootCommonName)},
	"RootCA.Validity":            {apply: def(inventory.DefaultRootValidity.String())},
	"IntermediateCA.Validity":    {apply: def(inventory.DefaultInterValidity.String())},
	"IntermediateCA.RenewBefore": {apply: def(inventory.DefaultRenewBefore.String())},

	"Flux.SourceRef":        {apply: label},
	"Flux.DecryptionSecret": {apply: label},
	"Flux.Interval":         {apply: def(inventory.DefaultFluxInterval.String())},
	"Flux.Path":             {apply: func(s *schema) { s.Pattern, s.Default = `^\./`, "./" }},

	"Network.Name": {apply: label},

	"Cluster.Name":       {apply: label},
	"Cluster.Network":    {apply: label},
	"Cluster.Role":       {apply: enum(roles, inventory.RolePrimary)},
	"Cluster.Primary":    {apply: label},
	"Cluster.APIServer":  {apply: func(s *schema) { s.Pattern, s.Examples = `^https://[^/?#@]+/?$`, []any{"https://203.0.113.1:6443"} }},
	"Cluster.Recipients": {required: true, apply: recipients},

	"Locality.Region": {apply: func(s *schema) { s.Pattern = locality }},
	"Locality.Zone":   {apply: func(s *schema) { s.Pattern = locality }},

	"EastWestGateway.Address": {apply: func(s *schema) { s.MinLength, s.Examples = 1, []any{"203.0.113.10", "eastwest.example.net"} }},
	"EastWestGateway.Port":    {apply: all(port, def(inventory.DefaultGatewayPort))},

	"Service.Name":      {apply: label},
	"Service.Namespace": {apply: label},
	"Service.Ports":     {apply: func(s *schema) { s.MinItems = 1 }},
	"Service.Clusters":  {apply: clusterRefs(1)},
	"Service.ExportTo":  {apply: clusterRefs(0)},

	"Port.Name":     {apply: label},
	"Port.Port":     {apply: port},
	"Port.Protocol": {apply: enum(inventory.Protocols, "")},
}

package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/secrets"
)

// credentials handles `meshgen credentials set CLUSTER --token-file F --ca-file F`.
func (c *cli) credentials(args []string) int {
	if len(args) == 0 || args[0] != "set" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			args = []string{"set", "--help"}
		} else {
			c.errorf("credentials: want 'credentials set CLUSTER --token-file F --ca-file F'")
			return exitBad
		}
	}
	var co common
	var tokenFile, caFile string
	fs := c.flagSet("credentials set", "Store a cluster's API credential, encrypted to the operators' recipients, for the remote secrets of the primaries that watch it.",
		`  # the token of the istio-reader-service-account in cluster eu-2, and its API server CA:
  kubectl --context eu-2 -n istio-system create token istio-reader-service-account --duration 8760h > token
  kubectl --context eu-2 config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > ca.crt
  meshgen credentials set eu-2 --token-file token --ca-file ca.crt
  rm token
`)
	fs.StringVarP(&co.inventory, "inventory", "i", "inventory.yaml", "inventory file")
	fs.StringVarP(&co.out, "output", "o", ".", "output directory (the fleet repository root)")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the bearer token (required)")
	fs.StringVar(&caFile, "ca-file", "", "file holding the API server's CA certificate, PEM (required)")
	fs.BoolVar(&co.wait, "wait", false, "if another meshgen run is writing the output directory, wait for it to finish instead of failing")
	c.registerAllowTestKeys(fs)
	if st, ok := c.parse(fs, args[1:]); !ok {
		return st
	}
	if fs.NArg() != 1 || tokenFile == "" || caFile == "" {
		c.errorf("credentials set: want CLUSTER, --token-file and --ca-file")
		c.hintf("run 'meshgen credentials set --help' for usage")
		return exitBad
	}
	cluster := fs.Arg(0)
	inv, ok := c.loadInventory(co.inventory)
	if !ok {
		return exitBad
	}
	if inv.Cluster(cluster) == nil {
		c.errorf("%s", inventory.Redact(fmt.Sprintf("credentials set: cluster %q is not in %s", cluster, co.inventory)))
		return exitBad
	}
	token, err := readBounded(tokenFile, maxTokenSize, "a bearer token")
	if err != nil {
		c.errorf("credentials set: %v", err)
		return exitBad
	}
	token = bytes.TrimSpace(token)
	if len(token) == 0 || bytes.ContainsAny(token, " \t\r\n") {
		// Never echo the token itself.
		c.errorf("credentials set: %s does not hold one bearer token", tokenFile)
		return exitBad
	}
	ca, err := readBounded(caFile, maxPEMSize, "a PEM certificate")
	if err != nil {
		c.errorf("credentials set: %v", err)
		return exitBad
	}
	if b, _ := pem.Decode(ca); b == nil || b.Type != "CERTIFICATE" {
		c.errorf("credentials set: %s is not a PEM certificate", caFile)
		return exitBad
	}
	data, err := generator.EncryptCredential(secrets.Credential{Cluster: cluster, Token: string(token), CA: ca},
		inv.Mesh.Recipients, generator.Options{Now: time.Now().UTC()})
	if err != nil {
		c.errorf("credentials set: %v", err)
		return exitBad
	}
	release, ok := c.lockTree(co, true)
	if !ok {
		return exitBad
	}
	wrote := false
	defer func() { release(wrote) }()
	if !c.recoverTree(co.out) {
		return exitBad
	}
	d, err := readTree(co.out)
	if err != nil {
		c.errorf("read output: %v", err)
		return exitBad
	}
	p := generator.CredentialPath(cluster)
	if d.Foreign[p] || d.ForeignParent(p) {
		c.errorf("%v", &generator.ConflictError{Paths: []string{p}})
		return exitBad
	}
	op := byte('A')
	if _, ok := d.Files[p]; ok {
		op = 'M'
	}
	wrote = true
	if err := apply(co.out, []generator.Change{{Path: p, Op: op, New: data, Mode: 0o600}}); err != nil {
		wrote = pendingJournal(co.out)
		c.errorf("write %s: %v", co.out, err)
		return exitBad
	}
	fmt.Fprintf(c.stderr, "meshgen: stored the credential of %s in %s, encrypted to %d operator %s\n", cluster, p, len(inv.Mesh.Recipients), plural(len(inv.Mesh.Recipients), "recipient", "recipients"))
	c.hintf("run 'meshgen generate' with an operator identity to write the remote secrets")
	return exitOK
}

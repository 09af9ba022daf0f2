package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// everyField is an inventory that sets every field of the schema (with
// both GitOps kinds, every PKI setting and a remote cluster), so that the
// secret-echo corpus reaches them all.
const everyField = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  trustDomain: cluster.local
  istio: {version: 1.28.2, revision: "1-28", installer: helm}
  discovery: remote-secrets
  serviceSuffix: mesh.internal
  addressPool: 240.0.0.0/16
  pki:
    keyAlgorithm: ecdsa-p256
    root: {commonName: Mesh Root, organization: Example, validity: 87600h}
    intermediate: {organization: Example, validity: 17520h, renewBefore: 720h}
    trustedRoots: [old-root.pem]
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
  gitops:
    flux: {sourceRef: flux-system, decryptionSecret: sops-age, interval: 10m, path: ./fleet}
    argocd: {repoURL: "https://git.example.com/fleet.git", targetRevision: main, project: mesh, path: ./fleet}
networks:
  - name: net1
clusters:
  - name: a
    network: net1
    role: primary
    locality: {region: eu, zone: eu-1a}
    eastWestGateway: {address: 203.0.113.10, port: 15443}
    apiServer: https://203.0.113.1:6443
    destinationName: cluster-a
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
  - name: b
    network: net1
    role: remote
    primary: a
    apiServer: https://203.0.113.2:6443
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
services:
  - name: svc
    namespace: foo
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [a]
    exportTo: [b]
`

// keyShape is one kind of secret a user might paste, and the fragments of
// it that must never appear in meshgen's output.
type keyShape struct {
	name      string
	value     string
	fragments []string
}

// keyShapes builds the corpus at run time (no key-shaped text is kept
// outside testdata): the test-only age identity, a PEM and an OpenSSH
// private key, a JWT, an API server URL with ?token=, and one with a
// password.
func keyShapesCorpus(t *testing.T) []keyShape {
	t.Helper()
	ageKey, err := os.ReadFile("../../testdata/age/test-only-operator.agekey")
	if err != nil {
		t.Fatal(err)
	}
	var age string
	for _, line := range strings.Split(string(ageKey), "\n") {
		if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			age = line
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(ed, "")
	if err != nil {
		t.Fatal(err)
	}
	sshKey := string(pem.EncodeToMemory(block))
	b64 := base64.RawURLEncoding.EncodeToString
	sig := make([]byte, 64)
	rand.Read(sig)
	jwt := b64([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + b64([]byte(`{"sub":"system:serviceaccount:istio-system:istio-reader"}`)) + "." + b64(sig)
	tok := make([]byte, 30)
	rand.Read(tok)
	token := base64.StdEncoding.EncodeToString(tok)
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if len(l) > 20 && !strings.HasPrefix(l, "-----") {
				out = append(out, l[4:20])
			}
		}
		return out
	}
	return []keyShape{
		{"age secret key", age, []string{age[16:32], strings.ToLower(age[16:32])}},
		{"PEM private key", pemKey, lines(pemKey)},
		{"OpenSSH private key", sshKey, lines(sshKey)},
		{"JWT", jwt, []string{jwt[len(jwt)-20:], b64(sig)[:16]}},
		{"URL with ?token=", "https://203.0.113.1:6443/?token=" + token, []string{token[:16]}},
		{"URL with a password", "https://admin:" + token + "@203.0.113.1:6443", []string{token[:16]}},
	}
}

// scalarFields lists every scalar of a YAML tree with its field path
// (clusters[0].name), keys included: a pasted secret may land anywhere.
type scalarField struct {
	path string
	node *yaml.Node
	key  bool
}

func scalarFields(n *yaml.Node, path string, out *[]scalarField) {
	switch n.Kind {
	case yaml.DocumentNode:
		scalarFields(n.Content[0], path, out)
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			*out = append(*out, scalarField{path: p, node: n.Content[i], key: true})
			scalarFields(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			scalarFields(c, path+"["+strconv.Itoa(i)+"]", out)
		}
	case yaml.ScalarNode:
		*out = append(*out, scalarField{path: path, node: n})
	}
}

// TestNoSecretEchoed puts every key shape into every field of an inventory
// (as the whole value, after a space, and inside a list-like string) and
// runs validate and generate: the run must fail, name the field, and print
// no fragment of the secret on stdout or stderr.
func TestNoSecretEchoed(t *testing.T) {
	dir := t.TempDir()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(everyField), &doc); err != nil {
		t.Fatal(err)
	}
	// The inventory as given is valid: every failure below is the secret's.
	if err := os.WriteFile(filepath.Join(dir, "old-root.pem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Block style throughout: yaml.v3 writes a multi-line value that starts
	// with a space inside a flow collection as YAML it cannot read back.
	var block func(n *yaml.Node)
	block = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		for _, c := range n.Content {
			block(c)
		}
	}
	block(&doc)
	var fields []scalarField
	scalarFields(&doc, "", &fields)
	shapes := keyShapesCorpus(t)
	runs := 0
	for _, f := range fields {
		for _, shape := range shapes {
			for _, variant := range []string{"%s", " %s", "age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf,%s"} {
				value := fmt.Sprintf(variant, shape.value)
				old := *f.node
				f.node.Value, f.node.Tag, f.node.Style = value, "!!str", 0
				if strings.Contains(value, "\n") && !f.key {
					f.node.Style = yaml.LiteralStyle
				}
				data, err := yaml.Marshal(&doc)
				*f.node = old
				if err != nil {
					t.Fatal(err)
				}
				// yaml.v3 writes some placements (a multi-line value that
				// starts with a space) as YAML no parser reads back: those
				// runs still must not echo the secret in the syntax error.
				var reparsed yaml.Node
				syntaxOnly := yaml.Unmarshal(data, &reparsed) != nil
				inv := filepath.Join(dir, "inventory.yaml")
				if err := os.WriteFile(inv, data, 0o644); err != nil {
					t.Fatal(err)
				}
				for _, cmd := range []string{"validate", "generate"} {
					var stdout, stderr bytes.Buffer
					code := Main([]string{cmd, "-i", inv, "-o", filepath.Join(dir, "out"), "--allow-test-keys"}, &stdout, &stderr, noEnv)
					runs++
					out := stdout.String() + stderr.String()
					name := fmt.Sprintf("%s in %s (%q), %s", shape.name, f.path, variant, cmd)
					if code == exitOK {
						t.Errorf("%s: accepted", name)
					}
					for _, frag := range shape.fragments {
						if strings.Contains(out, frag) {
							t.Fatalf("%s: the output shows the secret:\n%s", name, out)
						}
					}
					where := f.path
					if f.key {
						where = f.path[:max(0, strings.LastIndex(f.path, "."))]
					}
					if !syntaxOnly && !strings.Contains(out, where) {
						t.Errorf("%s: the output does not name %s:\n%s", name, where, out)
					}
				}
			}
		}
	}
	t.Logf("%d fields × %d key shapes × 3 placements: %d runs, no secret shown", len(fields), len(shapes), runs)
}

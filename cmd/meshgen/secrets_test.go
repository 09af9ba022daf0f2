package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/generator/sops"
)

const secretsInventory = `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  recipients: [age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf]
  istio: {version: 1.28.2}
  gitops:
    flux: {sourceRef: flux-system, decryptionSecret: sops-age}
networks:
  - name: network1
clusters:
  - name: primary-1
    network: network1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
    eastWestGateway: {address: 203.0.113.10}
  - name: remote-1
    network: network1
    recipients: [age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
    role: remote
    primary: primary-1
    apiServer: https://198.51.100.1:6443
services:
  - name: svc
    namespace: foo
    ports: [{name: http, port: 8080, protocol: HTTP}]
    clusters: [primary-1]
`

var privateKeyPEM = regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----`)

// TestNoPlaintextSecrets runs a whole generate that issues a root and
// intermediates and writes remote secrets from a stored credential, with
// TMPDIR pointed at a fresh directory, and then reads every byte meshgen
// wrote there and in the tree: no private key and no token in plaintext,
// and every secret file 0600.
func TestNoPlaintextSecrets(t *testing.T) {
	work := t.TempDir()
	tmp := t.TempDir()
	out := filepath.Join(work, "fleet")
	inv := filepath.Join(work, "inventory.yaml")
	write(t, inv, secretsInventory, 0o644)
	var rnd [24]byte
	rand.Read(rnd[:])
	token := "meshgen-test-token-" + hex.EncodeToString(rnd[:])
	tokenFile := filepath.Join(work, "token")
	write(t, tokenFile, token+"\n", 0o600)
	caFile := filepath.Join(work, "ca.crt")
	write(t, caFile, string(selfSignedCert(t)), 0o644)

	t.Setenv("TMPDIR", tmp)
	env := keyEnv(t)
	for _, args := range [][]string{
		{"credentials", "set", "remote-1", "--token-file", tokenFile, "--ca-file", caFile, "-i", inv, "-o", out, "--allow-test-keys"},
		{"generate", "-i", inv, "-o", out, "--allow-test-keys"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr, env); code != exitOK {
			t.Fatalf("meshgen %s: exit %d\n%s", args[0], code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), token) {
			t.Fatalf("meshgen %s printed the token", args[0])
		}
	}
	if _, err := os.Stat(filepath.Join(out, "overlays", "primary-1", "mesh", "remote-secrets", "remote-1.sops.yaml")); err != nil {
		t.Fatalf("no remote secret written: %v", err)
	}

	// The private keys meshgen made, as they would appear if leaked: the
	// base64 lines of their PEM bodies.
	ids, err := sops.IdentitiesFromEnv(env, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	var keyLines []string
	// A remote runs no istiod: no intermediate CA of its own.
	if _, err := os.Stat(filepath.Join(out, "overlays", "remote-1", "install", "cacerts.sops.yaml")); err == nil {
		t.Error("remote-1 got a cacerts secret; only clusters that run istiod sign certificates")
	}
	for _, f := range []string{"pki/root-ca.sops.yaml", "overlays/primary-1/install/cacerts.sops.yaml"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := sops.Decrypt(data, ids)
		if err != nil {
			t.Fatalf("decrypt %s: %v", f, err)
		}
		lines := keyBodyLines(plain)
		if len(lines) == 0 {
			t.Fatalf("%s holds no private key", f)
		}
		keyLines = append(keyLines, lines...)
	}

	forbidden := map[string]string{
		"the credential token":        token,
		"the base64 credential token": base64.StdEncoding.EncodeToString([]byte(token)),
		"an age identity":             "AGE-SECRET-KEY-",
	}
	for i, l := range keyLines {
		forbidden[fmt.Sprintf("line %d of a private key", i)] = l
	}
	secretFile := regexp.MustCompile(`[^/]\.sops\.yaml$`) // not .sops.yaml, the sops config
	files := 0
	for _, root := range []string{out, tmp} {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			files++
			rel, _ := filepath.Rel(root, p)
			if e.Type()&fs.ModeSymlink != 0 || !e.Type().IsRegular() {
				t.Errorf("%s: not a regular file", p)
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if privateKeyPEM.Match(data) {
				t.Errorf("%s holds a plaintext private key", p)
			}
			for what, s := range forbidden {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds %s", p, what)
				}
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			if root == out {
				want := fs.FileMode(0o644)
				if secretFile.MatchString(rel) {
					want = 0o600
				}
				if info.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", rel, info.Mode().Perm(), want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 20 {
		t.Errorf("scanned only %d files", files)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("meshgen left %d entries in TMPDIR", len(entries))
	}
}

// keyBodyLines returns the base64 lines of every private key PEM block in
// a decrypted SOPS document (YAML block scalars, so indented).
func keyBodyLines(plain []byte) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(string(plain), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case privateKeyPEM.MatchString(l):
			in = true
		case strings.HasPrefix(l, "-----END"):
			in = false
		case in && len(l) >= 40:
			lines = append(lines, l)
		}
	}
	return lines
}

func selfSignedCert(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func write(t *testing.T, name, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

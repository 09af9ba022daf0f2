package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
	"github.com/meshgen/meshgen/generator/pki"
	"github.com/meshgen/meshgen/generator/secrets"
	"github.com/meshgen/meshgen/generator/topology"
)

// readTrustedRoot reads a further trusted root certificate (public).
func readTrustedRoot(file string) ([]byte, error) {
	data, err := readBounded(file, maxPEMSize, "a PEM certificate")
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", file)
	}
	return pem.EncodeToMemory(b), nil
}

// importRoot reads an existing root CA to bring into the mesh. The key file
// is the operator's own; meshgen reads it and stores the key only encrypted.
func importRoot(certFile, keyFile string) (*pki.CA, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--root-cert and --root-key go together")
	}
	cert, err := readBounded(certFile, maxPEMSize, "a PEM certificate")
	if err != nil {
		return nil, err
	}
	key, err := readBounded(keyFile, maxPEMSize, "a PEM private key")
	if err != nil {
		return nil, err
	}
	return pki.ImportRoot(cert, key)
}

// quickstartURL is where a user without an inventory learns to write one;
// the hint names a URL because the user's fleet repository holds no docs.
const quickstartURL = "https://github.com/meshgen/meshgen/blob/main/docs/quickstart.md"

// maxErrorsShown bounds the inventory findings printed.
const maxErrorsShown = 500

// loadInventory reads, decodes and validates the inventory, printing every
// finding. ok is false when the inventory is unusable.
func (c *cli) loadInventory(file string) (*inventory.Inventory, bool) {
	inv, _, ok := c.loadInventoryData(file)
	return inv, ok
}

// loadInventoryData is loadInventory that also returns the file's bytes.
func (c *cli) loadInventoryData(file string) (*inventory.Inventory, []byte, bool) {
	data, err := c.inventoryBytes(file)
	if err != nil {
		c.errorf("%v", err)
		if errors.Is(err, os.ErrNotExist) {
			c.hintf("pass the inventory with -i FILE; to write one, see %s", quickstartURL)
		}
		return nil, nil, false
	}
	inv, err := inventory.Load(file, data)
	if err == nil {
		err = inv.Validate()
	}
	if err == nil {
		// Export rules that no istiod can carry out.
		err = topology.Check(inv)
	}
	var testKeys inventory.ErrorList
	if inv != nil && !c.allowTestKeys {
		testKeys = inv.TestOnlyRecipientErrors()
		if inv.Mesh.AllowTestOnlyKeys && len(testKeys) > 0 {
			// The inventory opts in (meshgen's own example): never silently.
			pos := inv.PosOf("mesh.allowTestOnlyKeys")
			c.errorf("warning: %s:%d:%d: mesh.allowTestOnlyKeys: secrets are encrypted to meshgen's test-only keys, whose private keys are published; for meshgen's own example only, never for a real mesh", file, pos.Line, pos.Col)
			testKeys = nil
		}
	}
	if len(testKeys) > 0 {
		var list inventory.ErrorList
		switch {
		case err == nil:
			err = testKeys
		case errors.As(err, &list):
			err = list.Merge(testKeys)
		}
	}
	if err != nil {
		var list inventory.ErrorList
		if errors.As(err, &list) {
			// Every finding up to a bound that no hand-written inventory
			// reaches; past it, a generated input is wrong everywhere and
			// more lines help nobody.
			for i, e := range list {
				if i == maxErrorsShown {
					fmt.Fprintf(c.stderr, "%s: ... and %d more\n", file, len(list)-i)
					break
				}
				fmt.Fprintln(c.stderr, e.Error())
			}
			noun := "error"
			if len(list) > 1 {
				noun = "errors"
			}
			c.errorf("%d %s in %s; nothing was written", len(list), noun, file)
		} else {
			c.errorf("%v", err)
		}
		if len(testKeys) > 0 {
			c.hintf("create your own keys with age-keygen and put their public keys there (docs/quickstart.md); --allow-test-keys is only for meshgen's own examples and tests")
		}
		return nil, nil, false
	}
	// A mesh Istio does not run as it documents is still generated (the
	// user may know better), but never silently.
	for _, w := range inv.Warnings() {
		c.errorf("warning: %v", w)
	}
	return inv, data, true
}

// inventoryBytes reads the inventory file once per run, bounded: the check
// cache and the run itself share the bytes, so that a piped inventory
// (-i - or -i /dev/stdin) is consumed once and a huge or endless file is
// never read past the limit.
func (c *cli) inventoryBytes(file string) ([]byte, error) {
	if c.inv != nil && c.inv.file == file {
		return c.inv.data, c.inv.err
	}
	var data []byte
	var err error
	if isStdin(file) {
		data, err = readAllBounded(os.Stdin, file, inventory.MaxSize, "an inventory")
	} else {
		data, err = readBounded(file, inventory.MaxSize, "an inventory")
	}
	c.inv = &readOnce{file: file, data: data, err: err}
	return data, err
}

// readOnce is the one read of a run's inventory.
type readOnce struct {
	file string
	data []byte
	err  error
}

// state is what every tree command computes: the inventory, the tree on
// disk and the tree generate would write.
type state struct {
	inv     *inventory.Inventory
	disk    *disk
	tree    *generator.Tree
	invData []byte // the inventory file's bytes
	ids     []age.Identity
	trusted []string // the trusted-root files read
}

func (c *cli) compute(co common) (*state, int) {
	// Reading the tree (I/O) and parsing the inventory (CPU) are
	// independent; on a large fleet doing both at once saves a good part of
	// a pre-commit run.
	type treeResult struct {
		d   *disk
		err error
	}
	treeCh := make(chan treeResult, 1)
	go func() {
		d, err := c.treeOf(co.out)
		treeCh <- treeResult{d, err}
	}()
	inv, invData, ok := c.loadInventoryData(co.inventory)
	tr := <-treeCh
	if !ok {
		return nil, exitBad
	}
	d, err := tr.d, tr.err
	if err != nil {
		c.errorf("read output: %v", err)
		return nil, exitBad
	}
	ids, err := c.identities(co)
	if err != nil {
		c.errorf("%v", err)
		return nil, exitBad
	}
	opts := generator.Options{
		Prior:      d.Files,
		Now:        time.Now().UTC(),
		Identities: ids,
		Preview:    co.preview,
	}
	var trusted []string
	for i, f := range inv.Mesh.PKI.TrustedRoots {
		file := filepath.Join(filepath.Dir(co.inventory), f)
		if abs, err := filepath.Abs(file); err == nil {
			trusted = append(trusted, abs)
		}
		pem, err := readTrustedRoot(file)
		if err != nil {
			path := fmt.Sprintf("mesh.pki.trustedRoots[%d]", i)
			fmt.Fprintln(c.stderr, (&inventory.Error{File: inv.File, Pos: inv.PosOf(path), Path: path, Msg: err.Error()}).Error())
			c.errorf("nothing was written")
			return nil, exitBad
		}
		opts.TrustedRoots = append(opts.TrustedRoots, pem)
	}
	if co.rootCert != "" || co.rootKey != "" {
		ca, err := importRoot(co.rootCert, co.rootKey)
		if err != nil {
			c.errorf("import root: %v", err)
			return nil, exitBad
		}
		opts.ImportRoot = ca
	}
	if c.isTerminal() {
		opts.Progress = c.progress
	}
	tree, err := generator.Generate(inv, opts)
	c.endProgress()
	if err != nil && len(d.Links) > 0 {
		// A symbolic link hides what lies behind it, which then looks
		// missing (a new cluster, say); name it first, since it is the
		// likelier cause of what follows.
		for _, l := range d.Links {
			c.errorf("%s is a symbolic link; meshgen neither reads nor writes through it", l)
		}
	}
	if err != nil {
		var ne *secrets.NeedIdentityError
		if errors.As(err, &ne) {
			for _, item := range ne.Items {
				c.errorf("%s", item)
			}
			if len(ids) == 0 {
				c.errorf("no age identity given; nothing was written")
				c.hintf("set SOPS_AGE_KEY_FILE (or pass --identity FILE) to an operator's age identity file")
			} else {
				c.errorf("nothing was written")
			}
			return nil, exitBad
		}
		var te *secrets.TamperedError
		if errors.As(err, &te) {
			for _, item := range te.Items {
				c.errorf("%s", item)
			}
			if te.Err != nil {
				for _, line := range strings.Split(te.Err.Error(), "\n") {
					c.errorf("%s", line)
				}
			}
			c.errorf("nothing was written")
			return nil, exitBad
		}
		var me *secrets.MissingCredentialError
		if errors.As(err, &me) {
			for _, item := range me.Items {
				c.errorf("%s", item)
			}
			c.errorf("nothing was written")
			c.hintf("store each with 'meshgen credentials set CLUSTER --token-file F --ca-file F'")
			return nil, exitBad
		}
		c.errorf("%v", err)
		return nil, exitBad
	}
	// A tampered secret is written afresh; say so wherever it is found,
	// not only in a diff.
	for _, p := range slices.Sorted(maps.Keys(tree.Tampered)) {
		c.errorf("%s: %s", p, tree.Tampered[p])
	}
	return &state{inv: inv, invData: invData, disk: d, tree: tree, ids: ids, trusted: trusted}, exitOK
}

package main

import (
	"fmt"
	"strings"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
)

func (c *cli) build(args []string) int {
	var co common
	fs := c.flagSet("build", "Build the overlay of one cluster, as found in the output directory, with kustomize and print it.",
		`  meshgen build cluster-a -o fleet/ | kubectl apply --dry-run=server -f -
  meshgen build cluster-a -i inventory.yaml -o fleet/   # also check that cluster-a is in the inventory
`)
	fs.StringVarP(&co.inventory, "inventory", "i", "inventory.yaml", "inventory file; read only when given, to check that CLUSTER is in it")
	fs.StringVarP(&co.out, "output", "o", ".", "output directory (the fleet repository root)")
	c.registerAllowTestKeys(fs)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 {
		c.errorf("build: want exactly one CLUSTER argument")
		c.hintf("run 'meshgen build --help' for usage")
		return exitBad
	}
	cluster := fs.Arg(0)
	if fs.Changed("inventory") {
		inv, ok := c.loadInventory(co.inventory)
		if !ok {
			return exitBad
		}
		if inv.Cluster(cluster) == nil {
			names := make([]string, len(inv.Clusters))
			for i, cl := range inv.Clusters {
				names[i] = cl.Name
			}
			c.errorf("%s", inventory.Redact(fmt.Sprintf("build: cluster %q is not in %s (clusters: %s)", cluster, co.inventory, strings.Join(names, ", "))))
			return exitBad
		}
	}
	unlock, st := c.lockToRead(co)
	if unlock == nil {
		return st
	}
	defer unlock()
	d, err := readTree(co.out)
	if err != nil {
		c.errorf("read output: %v", err)
		return exitBad
	}
	out, err := generator.Build(d.Files, cluster)
	if err != nil {
		c.errorf("%v", err)
		c.hintf("run 'meshgen generate' first, and check the cluster name")
		return exitBad
	}
	c.stdout.Write(out)
	return exitOK
}

package main

import (
	"fmt"

	"github.com/meshgen/meshgen/generator"
)

func (c *cli) validate(args []string) int {
	var co common
	fs := c.flagSet("validate", "Check the inventory and kustomize-build the overlay of every cluster, without writing anything.",
		`  meshgen validate -i inventory.yaml -o fleet/
`)
	co.register(fs)
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	s, st := c.compute(co)
	if s == nil {
		return st
	}
	files := s.tree.Map()
	findings := 0
	for _, cl := range s.inv.Clusters {
		if _, err := generator.Build(files, cl.Name); err != nil {
			c.errorf("cluster %s: %v", cl.Name, err)
			findings++
		}
	}
	if findings > 0 {
		return exitDrift
	}
	fmt.Fprintf(c.stderr, "meshgen: %s: %d %s valid\n", co.inventory, len(s.inv.Clusters), plural(len(s.inv.Clusters), "overlay", "overlays"))
	return exitOK
}

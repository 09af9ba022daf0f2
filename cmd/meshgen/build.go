package main

func (c *cli) build(args []string) int {
	var co common
	fs := c.flagSet("build", "Build the overlay of one cluster, as found in the output directory, with kustomize and print it.",
		`  meshgen build cluster-a -o fleet/ | kubectl apply --dry-run=server -f -
`)
	fs.StringVarP(&co.out, "output", "o", ".", "output directory (the fleet repository root)")
	if st, ok := c.parse(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 {
		c.errorf("build: want exactly one CLUSTER argument")
		c.hintf("run 'meshgen build --help' for usage")
		return exitBad
	}
	d, err := readTree(co.out)
	if err != nil {
		c.errorf("read output: %v", err)
		return exitBad
	}
	out, err := buildOverlay(d.files, fs.Arg(0))
	if err != nil {
		c.errorf("%v", err)
		c.hintf("run 'meshgen generate' first, and check the cluster name")
		return exitBad
	}
	c.stdout.Write(out)
	return exitOK
}

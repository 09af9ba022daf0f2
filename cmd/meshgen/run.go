package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/meshgen/meshgen/generator"
	"github.com/meshgen/meshgen/generator/inventory"
)

// loadInventory reads, decodes and validates the inventory, printing every
// finding. ok is false when the inventory is unusable.
func (c *cli) loadInventory(file string) (*inventory.Inventory, bool) {
	data, err := readLimited(file, inventory.MaxSize)
	if err != nil {
		c.errorf("%v", err)
		if errors.Is(err, os.ErrNotExist) {
			c.hintf("pass the inventory with -i FILE; see inventory.example.yaml")
		}
		return nil, false
	}
	inv, err := inventory.Load(file, data)
	if err == nil {
		err = inv.Validate()
	}
	if err != nil {
		var list inventory.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
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
		return nil, false
	}
	return inv, true
}

// readLimited reads a file of at most limit bytes without reading more.
func readLimited(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is larger than the %d bytes an inventory may have", file, limit)
	}
	return data, nil
}

// state is what every tree command computes: the inventory, the tree on
// disk and the tree generate would write.
type state struct {
	inv  *inventory.Inventory
	disk *disk
	tree *generator.Tree
}

func (c *cli) compute(co common) (*state, int) {
	inv, ok := c.loadInventory(co.inventory)
	if !ok {
		return nil, exitBad
	}
	d, err := readTree(co.out)
	if err != nil {
		c.errorf("read output: %v", err)
		return nil, exitBad
	}
	tree, err := generator.Generate(inv, generator.Options{
		Prior: d.files,
		Now:   time.Now().UTC(),
		Rand:  rand.Reader,
	})
	if err != nil {
		c.errorf("%v", err)
		return nil, exitBad
	}
	return &state{inv: inv, disk: d, tree: tree}, exitOK
}

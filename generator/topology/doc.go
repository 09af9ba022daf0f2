// Package topology answers, once, the questions every renderer of a mesh asks
// of the inventory: which clusters run istiod and which istiod serves each
// cluster (its config cluster), whose API servers each istiod watches, who
// may call each exported service and from where it is served, which istiod
// must keep a host cluster-local, and which export rules no istiod can
// express. It is pure: it reads a validated inventory and returns values; no
// YAML, no disk.
package topology

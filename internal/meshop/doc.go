// Package meshop is the operator's side of the mesh view: a Prometheus
// collector of per-HSAgent and per-pair metrics (ready, cycles, the last
// cycle of each directed pair, pairs by status) and the mesh page, both
// read from HSAgent status in the manager's cache. It never writes.
package meshop

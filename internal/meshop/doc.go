// Package meshop is the operator's side of the mesh view: a Prometheus
// collector of per-HSAgent metrics (ready, cycles, peers; from HSAgent
// status in the manager's cache) and per-namespace pair metrics (pairs by
// status, exact; the last cycle of the stalest pairs, bounded), and the mesh
// page (a matrix of at most MaxPageAgents agents), both reading pairs from
// the status hub's database cache (controllers.FleetMesh), not the 16-peer
// status sample. It never writes.
package meshop

// Package mesh is the fleet's pair matrix: which initiator completed how
// many handshake cycles with which responder, how long ago, whether the
// peer's hs verified and sealed messages opened, and which pairs stalled.
//
// Build merges conversation rows (both sides of a pair, from the database
// or from HSAgent status) into a View. The View renders to a terminal
// (RenderText), to JSON, and to a self-contained HTML page with a small
// inline script that polls the JSON (Handler). The package reads only;
// nothing here writes to a database or to the cluster.
package mesh

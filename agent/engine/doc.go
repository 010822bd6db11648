// Package engine runs the HSAgent_1 handshake flow (protocol spec §3) with
// every peer an agent hears from on the relay.
//
// Each (role, peer) conversation is owned by one goroutine, so no
// read-modify-write of its role_state row can race, and every change goes
// through the store's compare-and-set update. The protocol rules themselves
// live in Machine: plain functions from (row, RAM state, inbound message or
// timer) to (next row, outbound messages, side effects), which keeps the
// echo, replay, finalize and reconnect rules testable without a network.
package engine

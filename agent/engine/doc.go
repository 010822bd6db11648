// Package engine runs the HSAgent_1 handshake flow (protocol spec §3) with
// every peer an agent hears from on the relay.
//
// Each (role, peer) conversation is owned by one goroutine, so no
// read-modify-write of its role_state row can race, and every change goes
// through the store's compare-and-set update. The protocol rules
// themselves live in agent/protocol (Machine: plain functions from row,
// RAM state and an inbound message or timer to the next row, outbound
// messages and side effects); this package is the runner around them: the
// inbox and timers of a conversation, its Env over agent/store (storeEnv),
// the store part of a step (storeStep, saved through the group writer),
// cycle slots, the start gate, the sender budget, eviction and metrics.
package engine

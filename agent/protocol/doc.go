// Package protocol holds the HSAgent_1 handshake rules (protocol spec
// §3.5–3.6, docs/protocol.md): the typed State, Intent and Reason, the
// inbound Msg (ParseMsg, the receive hook), a conversation's Row and its
// RAM-only Mem, and Machine, which maps (Row, Mem, inbound message or
// timer) to a Result: the next Row and Mem, the Out messages to send and
// the Effects to save. OnMessage, Retry, Timeout, Resume and
// ResumeBinding are the whole machine; Result.Apply is the one
// interpreter of a Result's in-memory part.
//
// The package does no I/O: no store, no network, no goroutines, no
// logging. What a step needs from outside (the pair's nonce log, the trust
// policy, randomness, the clock) it asks through Env; what it wants
// logged it returns as Notes. The crypto glue that an Env implementation
// and the sender share (VerifyHandshake, OpenSec, Render, the boot proof)
// lives here too, over agent/crypto, agent/trust and agent/protocol/bind.
//
// agent/engine is the runner: one goroutine per (role, peer) conversation,
// an Env over agent/store, cycle slots, metrics. Peer runs a conversation
// in memory instead, for tests that play one side of a pair by hand.
package protocol

package protocol

import (
	"slices"
	"time"
)

// Stall A, second half (issue 12 item 7, docs/protocol.md §6.1): a Python
// initiator that decided to conclude has no timeout of its own. If our
// responder already gave the cycle up in resp_exchange, the initiator's
// conclude echoes a nonce of a cycle we no longer hold, and it would wait in
// init_finalize_propose for a finish forever. The responder therefore
// keeps a tombstone of such a cycle for one state timeout and answers that
// conclude with finish.

// NoteTombstoneFinish is logged (info) when a tombstone answers a conclude.
const NoteTombstoneFinish = "conclude after a state timeout; finishing the legacy cycle"

// Tombstone is what a responder keeps in RAM of a legacy cycle it gave up
// in resp_exchange: the nonces it sent in that cycle, until Deadline. One
// per conversation (Mem.Tombstone), never persisted, used at most once.
// There is no reference to keep: a responder holds none in resp_exchange,
// and its finish draws a fresh one as resp_finalize always does.
type Tombstone struct {
	Nonces   []string
	Deadline time.Time
}

// holds reports whether nonce is one the given-up cycle sent.
func (t *Tombstone) holds(nonce string) bool {
	return slices.Contains(t.Nonces, nonce)
}

// tombstoneFor is the tombstone a responder timing out in resp_exchange
// keeps, or nil. Only a legacy peer gets one: a peer that bound this cycle
// (an hsfleet agent) recovers on its own through our next confirm, and its
// finalize lines are MAC'd, which a tombstone could not check. A cycle
// inherited from a previous process is left out too: its nonces and
// whether the peer binds died with that process.
func tombstoneFor(row Row, mem Mem, env Env, stateTimeout time.Duration) *Tombstone {
	if row.State != StateRespExchange || mem.PeerBinds || mem.Inherited || env.RequiresBind() ||
		len(mem.CycleNonces) == 0 || stateTimeout <= 0 {
		return nil
	}
	return &Tombstone{Nonces: slices.Clone(mem.CycleNonces), Deadline: env.Now().Add(stateTimeout)}
}

// concludeAfterTimeout handles a conclude in resp_ready or resp_confirm:
// one that echoes a nonce of the tombstoned cycle finishes that cycle
// (→ resp_finalize, finish with peer_reference = its my_ref, which is all
// the reference's handle_finish checks). Everything else is ignored. A
// relay client sees every nonce and can forge this conclude, so: the
// tombstone is used once; the cycle it finishes counts as unverified
// (no session, no MAC); and resp_finalize bounds what follows as for any
// legacy cycle (RespFinalLimit, state timeout).
func (m Machine) concludeAfterTimeout(res *Result, msg Msg, env Env) {
	t := res.Mem.Tombstone
	if t == nil || msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return
	}
	if msg.YourNonce == "" || msg.MyRef == "" {
		res.ignore(ReasonMissingField)
		return
	}
	if !env.Now().Before(t.Deadline) {
		res.Mem.Tombstone = nil
		res.KeepMem = true // frees it
		res.ignore(ReasonTombstoneExpired)
		return
	}
	if msg.MAC != "" {
		// Only an hsfleet initiator sends a MAC; it restarts on our next
		// confirm and needs no tombstone (the reference never sends one).
		res.ignore(ReasonWrongState)
		return
	}
	if !t.holds(msg.YourNonce) {
		res.ignore(ReasonEchoMismatch)
		return
	}
	from := res.Row.State
	if from == StateRespConfirm {
		// The cycle our confirm started never got an answer: the peer
		// was still waiting for finish. Give it up with its log.
		res.DeletePairNonces = true
	}
	res.Row.wipe()
	res.Mem.endCycle()
	res.Mem.Tombstone = nil
	// No start time: the cycle began before the timeout, and its length
	// says nothing about our load (cycle seconds, slot adaptation).
	res.Mem.CycleStart = time.Time{}
	res.Row.PeerRef = msg.MyRef
	res.note(NoteTombstoneFinish, "transition", transition(from, StateRespFinalize), "your_nonce", msg.YourNonce)
	m.accept(res, StateRespFinalize, env)
}

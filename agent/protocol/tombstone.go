package protocol

import (
	"slices"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol/bind"
)

// Stall A (issue 12 item 7, docs/protocol.md §6.1): a Python initiator has
// no timeouts. If our responder already gave the cycle up (in resp_confirm
// or resp_exchange), the initiator's next request or its conclude echoes a
// nonce of a cycle we no longer hold, and it would re-send it forever. The
// responder therefore keeps a tombstone of such a cycle for one state
// timeout, answers a late request with respond and a late conclude with
// finish.

// NoteTombstoneFinish is logged (info) when a tombstone answers a conclude.
const NoteTombstoneFinish = "conclude after a state timeout; finishing the legacy cycle"

// Tombstone is what a responder keeps in RAM of a legacy cycle it gave up
// in resp_confirm or resp_exchange: the nonces it sent in that cycle (and
// in answers to late requests), until Deadline. One per conversation
// (Mem.Tombstone), never persisted; a conclude uses it up. There is no
// reference to keep: a responder holds none before resp_finalize, and its
// finish draws a fresh one as resp_finalize always does.
type Tombstone struct {
	Nonces   []string
	Deadline time.Time
	// Answered is the my_nonce of the last request the tombstone answered
	// and Answer the nonce of our respond, re-sent for that request's
	// re-sends (requestAfterTimeout).
	Answered, Answer string
}

// holds reports whether nonce is one the given-up cycle sent.
func (t *Tombstone) holds(nonce string) bool {
	return slices.Contains(t.Nonces, nonce)
}

// tombstoneFor is the tombstone a responder timing out in resp_confirm or
// resp_exchange keeps, or nil. Only a legacy peer gets one: a peer that bound this cycle
// (an hsfleet agent) recovers on its own through our next confirm, and its
// finalize lines are MAC'd, which a tombstone could not check. A cycle
// inherited from a previous process is left out too: its nonces and
// whether the peer binds died with that process.
func tombstoneFor(row Row, mem Mem, env Env, stateTimeout time.Duration) *Tombstone {
	if (row.State != StateRespExchange && row.State != StateRespConfirm) || mem.PeerBinds || mem.Inherited || env.RequiresBind() ||
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

// maxTombstoneNonces bounds a tombstone: the given-up cycle's nonces (at
// most RespMaxExchanges + 1) and as many answers. A legacy initiator
// concludes after its exchange limit, so more requests are a flood.
const maxTombstoneNonces = 2*RespMaxExchanges + 1

// requestAfterTimeout handles a request in resp_ready, or in resp_confirm
// when it does not answer our current confirm. A legacy initiator whose
// request reached us after we gave its cycle up (stall A's resp_confirm
// and init_exchange shapes, docs/protocol.md §6.1) has no timeout: it
// re-sends that request, echoing a nonce of the given-up cycle and sealed
// under a key we no longer hold, forever, and ignores our new confirms.
// The tombstone answers it with a plaintext respond (the reference opens
// sec only when present), so the initiator goes on to its conclude, which
// concludeAfterTimeout finishes. Nothing is saved: the answer lives in the
// tombstone, and a re-send of the same request gets the same answer.
// What a forged request can do is what a forged conclude can (§6.2 row 8):
// the cycle counts as unverified, and only for a legacy peer.
func (m Machine) requestAfterTimeout(res *Result, msg Msg, env Env) {
	t := res.Mem.Tombstone
	switch {
	case t == nil || msg.Broadcast():
		res.ignore(ReasonWrongState)
		return
	case msg.YourNonce == "" || msg.MyNonce == "":
		res.ignore(ReasonMissingField)
		return
	case !env.Now().Before(t.Deadline):
		res.Mem.Tombstone = nil
		res.KeepMem = true // frees it
		res.ignore(ReasonTombstoneExpired)
		return
	case !t.holds(msg.YourNonce):
		res.ignore(ReasonEchoMismatch)
		return
	}
	if msg.HS != nil {
		// An hsfleet initiator binds its first requests; it restarts on
		// our next confirm and needs no tombstone. (The reference sends
		// hs on its first request only; the re-sends have none.)
		if sig, err := bind.BindOf(msg.HS); err != nil || sig != "" {
			res.ignore(ReasonWrongState)
			return
		}
	}
	if msg.MyNonce != t.Answered {
		if len(t.Nonces) >= maxTombstoneNonces {
			res.ignore(ReasonWrongState)
			return
		}
		answer := env.NewNonce()
		t = &Tombstone{Nonces: append(slices.Clone(t.Nonces), answer), Deadline: t.Deadline,
			Answered: msg.MyNonce, Answer: answer}
		res.Mem.Tombstone = t
		res.note("request after a state timeout; answering the legacy cycle", "your_nonce", msg.YourNonce, "my_nonce", answer)
	}
	res.Out = append(res.Out, Out{Intent: IntentRespond, YourNonce: msg.MyNonce, MyNonce: t.Answer, Text: ResponderText})
}

package engine

import (
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// Effects is what a step changes beyond its Row and Mem: the nonce log and
// cycle count the runner saves with the row (storeStep), and the few
// actions only the runner takes (metrics, the tofu binding pin).
type Effects struct {
	// RecordReceived / RecordSent are nonces to log in nonce_event.
	RecordReceived string
	RecordSent     string
	// RecordHS is the nonce of a verified hs, logged under the hs flow,
	// which outlives the cycle so the hs cannot be replayed into a later
	// one while its timestamp is still valid.
	RecordHS string
	// DeletePairNonces clears the pair's nonce log (end of a cycle).
	DeletePairNonces bool
	// CycleDone: a completed cycle to count (responder on close,
	// initiator on finish).
	CycleDone bool
	// Verified: the counted cycle was authenticated end to end (both hs
	// bound, key confirmed, finalize MAC valid).
	Verified bool
	// MarkBinds: the peer sent a verified bind; a tofu policy makes it
	// required from now on (trust.Policy.MarkBinds).
	MarkBinds bool
	// Restart names why a cycle was abandoned at once for a new one
	// (RestartPeerBoot, RestartPeerConfirm, RestartOwnBoot); "" otherwise.
	Restart string
	// KeepMem: Apply keeps Mem even though the message was ignored (it
	// noted what the peer answers; the row is unchanged).
	KeepMem bool
}

// storeStep is the store part of a step: the row write (when res.Write,
// compare-and-set on stored) with its nonces and cycle count. logSent
// reports whether our own nonces are logged (Config.LogSentNonces).
func (r Result) storeStep(key store.Key, stored store.RoleState, logSent bool, now time.Time) store.Step {
	step := store.Step{Key: key, Received: r.RecordReceived, HSNonce: r.RecordHS,
		ClearPairNonces: r.DeletePairNonces}
	if r.Write {
		step.Write, step.Next = true, r.Row.toStore(stored)
	}
	if logSent {
		step.Sent = r.RecordSent
	}
	if r.CycleDone {
		at := now.UTC()
		step.CycleAt = &at
		step.Verified = r.Verified
	}
	return step
}

// empty reports whether the step saves nothing.
func emptyStep(step store.Step) bool {
	return !step.Write && step.Received == "" && step.HSNonce == "" && !step.ClearPairNonces &&
		step.Sent == "" && step.CycleAt == nil
}

// Conversation is the in-memory state of one (role, peer) conversation
// that a step changes. The runner (conv) and the test harness (side) both
// hold one and change it only through Result.Apply.
type Conversation struct {
	row Row
	mem Mem
}

// nonceMirror is a RAM copy of the pair's nonce log, kept in step with
// what the store logs.
type nonceMirror interface {
	add(flow, nonce string)
	reset()
}

// Apply is the one interpreter of a Result's in-memory part. An ignored
// result changes nothing but, with KeepMem, Mem; an accepted one replaces
// Row and Mem and mirrors the nonce log as the store changes it (cleared
// first, then the new nonces). Call it once the store part was saved.
func (r Result) Apply(c *Conversation, nonces nonceMirror) {
	if r.Ignored != "" {
		if r.KeepMem {
			c.mem = r.Mem
		}
		return
	}
	c.row, c.mem = r.Row, r.Mem
	if r.DeletePairNonces {
		nonces.reset()
	}
	if r.RecordReceived != "" {
		nonces.add(flowReceived, r.RecordReceived)
	}
	if r.RecordSent != "" {
		nonces.add(flowSent, r.RecordSent)
	}
}

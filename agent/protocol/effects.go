package protocol

// Effects is what a step changes beyond its Row and Mem: the nonce log and
// cycle count the runner saves with the row, and the few actions only the
// runner takes (metrics, the tofu binding pin).
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

// Conversation is the in-memory state of one (role, peer) conversation
// that a step changes. The runner and the test harness both hold one and
// change it only through Result.Apply.
type Conversation struct {
	Row Row
	Mem Mem
}

// Nonce log flows: what RecordSent and RecordReceived log, and the flow a
// NonceMirror is told of.
const (
	FlowSent     = "sent"
	FlowReceived = "received"
)

// NonceMirror is a RAM copy of the pair's nonce log, kept in step with
// what the store logs (Result.Apply).
type NonceMirror interface {
	// Add records nonce under flow (FlowSent or FlowReceived).
	Add(flow, nonce string)
	// Reset empties the mirror, as DeletePairNonces empties the log.
	Reset()
}

// Apply is the one interpreter of a Result's in-memory part. An ignored
// result changes nothing but, with KeepMem, Mem; an accepted one replaces
// Row and Mem and mirrors the nonce log as the store changes it (cleared
// first, then the new nonces). Call it once the store part was saved.
func (r Result) Apply(c *Conversation, nonces NonceMirror) {
	if r.Ignored != "" {
		if r.KeepMem {
			c.Mem = r.Mem
		}
		return
	}
	c.Row, c.Mem = r.Row, r.Mem
	if r.DeletePairNonces {
		nonces.Reset()
	}
	if r.RecordReceived != "" {
		nonces.Add(FlowReceived, r.RecordReceived)
	}
	if r.RecordSent != "" {
		nonces.Add(FlowSent, r.RecordSent)
	}
}

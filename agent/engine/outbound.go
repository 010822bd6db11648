package engine

// Out is one message the machine wants sent to the peer. The runner renders
// it into a payload: it builds hs with the cycle's ephemeral key and seals
// Text into sec when a session key exists.
type Out struct {
	Intent    Intent
	YourNonce string
	MyNonce   string
	YourRef   string
	MyRef     string
	// HSType is "init" or "response" when the message carries hs over
	// MyNonce; "" for none.
	HSType string
	// Text is the message text of request and respond.
	Text string
	// MACKey, when set, adds the finalize MAC (plan §3) made with it.
	MACKey []byte
}

// Note is a log-worthy event of a step, kept as the reference's log lines.
type Note struct {
	Msg   string
	Attrs []any
}

// Result is the outcome of one step.
type Result struct {
	Row Row
	Mem Mem
	// Write: Row differs from the stored row and must be saved (CAS).
	Write bool
	// Progress resets the state timeout.
	Progress bool
	Out      []Out
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
	// Ignored is set when an inbound message was not accepted.
	Ignored Reason
	// KeepMem: the runner keeps Mem even though the message was ignored
	// (it noted what the peer answers; the row is unchanged).
	KeepMem bool
	// Rejected: Ignored for a security reason (hs or sec), not a mere
	// protocol mismatch.
	Rejected bool
	// Restart names why a cycle was abandoned at once for a new one
	// (RestartPeerBoot, RestartPeerConfirm, RestartOwnBoot); "" otherwise.
	Restart string
	Notes   []Note
}

func (r *Result) note(msg string, attrs ...any) {
	r.Notes = append(r.Notes, Note{Msg: msg, Attrs: attrs})
}

func (r *Result) ignore(reason Reason) {
	r.Ignored = reason
}

func (r *Result) reject(reason Reason) {
	r.Ignored, r.Rejected = reason, true
}

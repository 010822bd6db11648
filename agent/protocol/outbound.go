package protocol

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

// Result is the outcome of one step: the new in-memory state (Row, Mem,
// applied by Apply), what to send, and the Effects the runner saves and
// acts on.
type Result struct {
	Row Row
	Mem Mem
	// Write: Row differs from the stored row and must be saved (CAS).
	Write bool
	// Progress resets the state timeout.
	Progress bool
	Out      []Out
	Effects
	// Ignored is set when an inbound message was not accepted.
	Ignored Reason
	// Rejected: Ignored for a security reason (hs or sec), not a mere
	// protocol mismatch.
	Rejected bool
	Notes    []Note
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

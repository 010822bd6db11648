package bind

import "errors"

// Errors; test with errors.Is. Each maps to one Reason the engine counts.
var (
	// ErrFieldTooLong: an input field is longer than MaxField bytes.
	ErrFieldTooLong = errors.New("bind: field too long")
	// ErrBadField: an input field is not valid UTF-8, so its canonical
	// encoding would not be unique.
	ErrBadField = errors.New("bind: field is not valid UTF-8")
	// ErrBadKey: a private, public or finalize key has the wrong length.
	ErrBadKey = errors.New("bind: malformed key")
	// ErrNoBind: the hs carries no bind signature (a legacy peer, or one
	// stripped in transit: the negotiation decides which).
	ErrNoBind = errors.New("bind: no bind signature")
	// ErrBadBind: the bind signature is malformed or does not verify.
	ErrBadBind = errors.New("bind: bind signature invalid")
	// ErrNoHeader: the sealed plaintext carries no hsf header.
	ErrNoHeader = errors.New("bind: no hsf header")
	// ErrBadHeader: the hsf header is not an object of string fields, or
	// has an unknown version.
	ErrBadHeader = errors.New("bind: malformed hsf header")
	// ErrBindMismatch: an hsf field differs from the outer payload's.
	ErrBindMismatch = errors.New("bind: hsf does not match the payload")
	// ErrNoMAC: a finalize message carries no mac.
	ErrNoMAC = errors.New("bind: no finalize mac")
	// ErrBadMAC: the mac is malformed or does not verify.
	ErrBadMAC = errors.New("bind: finalize mac invalid")
	// ErrEnvelopeTS: a sealed envelope's ts is missing, malformed or more
	// than crypto.HandshakeTTL from our clock.
	ErrEnvelopeTS = errors.New("bind: envelope ts out of range")
)

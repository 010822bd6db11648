package bind

import "fmt"

// Header keys in the sealed plaintext (plan §2.4).
const (
	// PlaintextKey is the plaintext key holding the header object.
	PlaintextKey = "hsf"
	// MessageKey is the key the reference reads (agent.py maybe_open_secure).
	MessageKey = "message"
	// HeaderVersion is the only header version this package writes and reads.
	HeaderVersion = "1"
)

// Header is the binding header inside a sealed request/respond plaintext:
// the outer payload fields the sealed message belongs to. Absent outer
// fields are "".
type Header struct {
	From      string
	To        string
	Intent    string
	MyNonce   string
	YourNonce string
}

var headerNames = []string{"from", "to", "intent", "my_nonce", "your_nonce"}

func (h Header) values() []string {
	return []string{h.From, h.To, h.Intent, h.MyNonce, h.YourNonce}
}

// Plaintext returns the object to seal with crypto.SealSec:
// {"hsf":{"from":…,"intent":…,"my_nonce":…,"to":…,"v":"1","your_nonce":…},"message":message}.
// The Python reference reads only "message".
func (h Header) Plaintext(message string) (map[string]any, error) {
	if err := checkFields(headerNames, h.values()...); err != nil {
		return nil, err
	}
	hsf := make(map[string]any, len(headerNames)+1)
	for i, v := range h.values() {
		hsf[headerNames[i]] = v
	}
	hsf["v"] = HeaderVersion
	return map[string]any{PlaintextKey: hsf, MessageKey: message}, nil
}

// ParseHeader reads the hsf header of an opened plaintext (the map
// crypto.OpenSec returns). No "hsf" key is ErrNoHeader; an hsf that is not
// an object, lacks a field, has a non-string or over-long field, or a
// version other than "1" is ErrBadHeader. Extra keys are ignored, so a
// later version can add fields that older readers skip.
func ParseHeader(plain map[string]any) (Header, error) {
	raw, ok := plain[PlaintextKey]
	if !ok {
		return Header{}, ErrNoHeader
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Header{}, fmt.Errorf("%w: hsf is %T, not an object", ErrBadHeader, raw)
	}
	if v, _ := m["v"].(string); v != HeaderVersion {
		return Header{}, fmt.Errorf("%w: version %.16q, want %q", ErrBadHeader, v, HeaderVersion)
	}
	var h Header
	dst := []*string{&h.From, &h.To, &h.Intent, &h.MyNonce, &h.YourNonce}
	for i, name := range headerNames {
		s, ok := m[name].(string)
		if !ok {
			return Header{}, fmt.Errorf("%w: %s missing or not a string", ErrBadHeader, name)
		}
		if len(s) > MaxField {
			return Header{}, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrBadHeader, name, len(s), MaxField)
		}
		*dst[i] = s
	}
	return h, nil
}

// Match reports ErrBindMismatch, naming the first differing field, when h
// (read from the plaintext) differs from outer (built from the payload the
// sec arrived in).
func (h Header) Match(outer Header) error {
	got, want := h.values(), outer.values()
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("%w: %s", ErrBindMismatch, headerNames[i])
		}
	}
	return nil
}

// Check reads the header of an opened plaintext and matches it against
// outer: ErrNoHeader, ErrBadHeader or ErrBindMismatch, nil when it binds.
// The engine treats ErrNoHeader as legacy only for a peer that is not
// binding this cycle.
func Check(plain map[string]any, outer Header) error {
	h, err := ParseHeader(plain)
	if err != nil {
		return err
	}
	return h.Match(outer)
}

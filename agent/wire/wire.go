// Package wire is the Summoner relay wire format that HSAgent_1 speaks
// (protocol spec §1.2–1.8): outbound payloads go out as a typed envelope line,
// inbound lines arrive wrapped by the relay as {"remote_addr", "content"}.
// Every line is untrusted: decoding is bounded in length and depth, reports
// typed errors and never panics.
package wire

import "errors"

// Version is the summoner-core version stamped into every typed envelope.
const Version = "1.3.0"

const (
	// DefaultMaxLine matches asyncio's StreamReader limit, which the Python
	// server and clients enforce.
	DefaultMaxLine = 64 << 10
	// DefaultMaxDepth is far beyond what HSAgent nests (3 levels) and small
	// enough that a hostile line cannot make decoding expensive.
	DefaultMaxDepth = 32
)

// Payload is one message body. Values are string, nil, bool, int64 (or int
// when built locally), float64, map[string]any and []any.
type Payload = map[string]any

// Kind tells JSON messages from plain-text lines.
type Kind int

const (
	// KindMessage is a relayed JSON payload.
	KindMessage Kind = iota + 1
	// KindText is a plain-text line, such as the relay's "Warning: ..."
	// notices or a peer sending non-JSON content.
	KindText
)

func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindText:
		return "text"
	}
	return "unknown"
}

// Inbound is one decoded relay line.
type Inbound struct {
	Kind Kind
	// RemoteAddr is the sender's "ip:port" as the relay saw it; empty for
	// text that the relay itself sent.
	RemoteAddr string
	// Payload is set for KindMessage: the typed envelope's _payload, or the
	// content object itself when the sender did not use an envelope.
	Payload Payload
	// Text is set for KindText.
	Text string
}

// Limits bounds decoding. Zero fields take the defaults.
type Limits struct {
	// MaxLine is the longest accepted line in bytes, newline excluded.
	MaxLine int
	// MaxDepth bounds object/array nesting, separately for the relay
	// wrapper and for the content document inside it.
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Decode and Encode errors; test with errors.Is.
var (
	// ErrTooLong: the line exceeds Limits.MaxLine.
	ErrTooLong = errors.New("wire: line too long")
	// ErrTooDeep: objects or arrays nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("wire: nesting too deep")
	// ErrMalformed: the line or its content looks like JSON but is not.
	ErrMalformed = errors.New("wire: malformed JSON")
	// ErrNotRelayed: valid JSON, but not a relay wrapper with a string
	// remote_addr and a content.
	ErrNotRelayed = errors.New("wire: not a relay line")
	// ErrBadContent: content is neither a JSON object nor text, or an
	// envelope's _payload is not an object.
	ErrBadContent = errors.New("wire: content is not a payload object")
	// ErrUnencodable: Encode met a value with no wire type.
	ErrUnencodable = errors.New("wire: value cannot be encoded")
)

// StringField reads key from p. present is false when the key is absent;
// isNull is true when it holds JSON null. value is set only for strings, so a
// number where a string belongs reads as present, not null, and empty.
func StringField(p Payload, key string) (value string, present bool, isNull bool) {
	v, ok := p[key]
	if !ok {
		return "", false, false
	}
	if v == nil {
		return "", true, true
	}
	s, _ := v.(string)
	return s, true, false
}

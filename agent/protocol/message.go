package protocol

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Msg is an inbound HSAgent payload after the receive hook (spec §3.5).
// String fields hold "" when the key is absent, null or not a string: the
// reference never sends an empty nonce or reference, so "" means "missing".
type Msg struct {
	Intent     Intent
	From       string
	To         string // "" when to is null (a broadcast)
	RemoteAddr string

	YourNonce, MyNonce string
	YourRef, MyRef     string
	Message            string
	HasMessage         bool
	HS                 any // raw hs object, nil when absent
	Sec                any // raw sec object, nil when absent
	// MAC is the finalize MAC (plan §3) of conclude, finish, close and
	// reconnect; "" when absent or not a string.
	MAC string
	// Boot is a register's boot proof (bootproof.go), nil when absent.
	Boot any

	// Received is when the engine read the line (zero: unknown), so a
	// line that waited too long is dropped before any crypto.
	Received time.Time
}

// Broadcast reports whether the message was sent to everyone (to: null).
func (m Msg) Broadcast() bool { return m.To == "" }

// Errors of ParseMsg; they name why the receive hook drops a payload.
var (
	ErrNoIntent    = errors.New("payload has no string intent")
	ErrNoFrom      = errors.New("payload has no string from")
	ErrNoTo        = errors.New("payload has no to")
	ErrNotForUs    = errors.New("payload is addressed to another agent")
	ErrFromOurself = errors.New("payload claims to come from this agent")
	// ErrBadFrom: from is not an agent ID we could ever store or answer
	// (issue 12 item 4); checked before any table lookup.
	ErrBadFrom = errors.New("payload from is not a valid agent ID")
)

// MaxAgentIDLen bounds from (bytes). Agent IDs are UUIDs (36 bytes); the
// store accepts up to 255.
const MaxAgentIDLen = 128

// ValidAgentID reports whether id has the shape of an agent ID: 1 to
// MaxAgentIDLen bytes of valid UTF-8 without control characters (C0, DEL,
// C1). It is the first check on every inbound from, so a line the store
// would refuse never reaches a conversation.
func ValidAgentID(id string) bool {
	if id == "" || len(id) > MaxAgentIDLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}

// ParseMsg applies the reference receive hook to a payload: it needs from,
// to and intent; to must be null or selfID; from must be a non-empty string.
func ParseMsg(p map[string]any, remoteAddr, selfID string) (Msg, error) {
	m := Msg{RemoteAddr: remoteAddr}
	intent, ok := p["intent"].(string)
	if !ok || intent == "" {
		return Msg{}, ErrNoIntent
	}
	m.Intent = Intent(intent)
	if m.From, ok = p["from"].(string); !ok || m.From == "" {
		return Msg{}, ErrNoFrom
	}
	if !ValidAgentID(m.From) {
		return Msg{}, fmt.Errorf("%w: %d bytes", ErrBadFrom, len(m.From))
	}
	to, present := p["to"]
	if !present {
		return Msg{}, ErrNoTo
	}
	if to != nil {
		s, isStr := to.(string)
		if !isStr {
			return Msg{}, fmt.Errorf("%w: to is %T", ErrNoTo, to)
		}
		if s != selfID {
			return Msg{}, ErrNotForUs
		}
		m.To = s
	}
	if m.From == selfID {
		return Msg{}, ErrFromOurself
	}
	m.YourNonce = str(p, "your_nonce")
	m.MyNonce = str(p, "my_nonce")
	m.YourRef = str(p, "your_ref")
	m.MyRef = str(p, "my_ref")
	m.Message, m.HasMessage = p["message"].(string)
	m.HS = p["hs"]
	m.Sec = p["sec"]
	m.MAC = str(p, "mac")
	if m.Intent == IntentRegister {
		m.Boot = p[BootField]
	}
	return m, nil
}

func str(p map[string]any, key string) string {
	s, _ := p[key].(string)
	return s
}

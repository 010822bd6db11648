package engine

import (
	"errors"
	"fmt"
	"time"
)

// Msg is an inbound HSAgent payload after the receive hook (spec §3.5).
// String fields hold "" when the key is absent, null or not a string: the
// reference never sends an empty nonce or reference, so "" means "missing".
type Msg struct {
	Intent     string
	From       string
	To         string // "" when to is null (a broadcast)
	RemoteAddr string

	YourNonce, MyNonce string
	YourRef, MyRef     string
	Message            string
	HasMessage         bool
	HS                 any // raw hs object, nil when absent
	Sec                any // raw sec object, nil when absent

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
)

// ParseMsg applies the reference receive hook to a payload: it needs from,
// to and intent; to must be null or selfID; from must be a non-empty string.
func ParseMsg(p map[string]any, remoteAddr, selfID string) (Msg, error) {
	m := Msg{RemoteAddr: remoteAddr}
	var ok bool
	if m.Intent, ok = p["intent"].(string); !ok || m.Intent == "" {
		return Msg{}, ErrNoIntent
	}
	if m.From, ok = p["from"].(string); !ok || m.From == "" {
		return Msg{}, ErrNoFrom
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
	return m, nil
}

func str(p map[string]any, key string) string {
	s, _ := p[key].(string)
	return s
}

package trust

import (
	"crypto/ed25519"
	"errors"
	"sync"
	"sync/atomic"
)

// Policy errors; test with errors.Is.
var (
	// ErrUnknownAgent: fleet mode, the sender is not in the bundle.
	ErrUnknownAgent = errors.New("trust: agent not in the trust bundle")
	// ErrKeyMismatch: fleet mode, the hs key is not the bundle's key.
	ErrKeyMismatch = errors.New("trust: sign_pub does not match the trust bundle")
	// ErrKeyChanged: tofu mode, the hs key differs from the pinned key.
	ErrKeyChanged = errors.New("trust: sign_pub differs from the pinned key")
)

// Policy applies one trust mode. It is safe for concurrent use; the bundle
// can be swapped while agents run.
type Policy struct {
	mode   Mode
	bundle atomic.Pointer[Bundle]

	mu     sync.Mutex
	pins   map[string]ed25519.PublicKey // tofu: first key seen per agent
	loaded []byte                       // bundle file content LoadFile read
}

// NewPolicy returns a policy for mode; bundle may be nil outside fleet mode.
func NewPolicy(mode Mode, bundle Bundle) *Policy {
	p := &Policy{mode: mode, pins: map[string]ed25519.PublicKey{}}
	p.SetBundle(bundle)
	return p
}

// Mode returns the policy's trust mode.
func (p *Policy) Mode() Mode { return p.mode }

// SetBundle replaces the fleet bundle.
func (p *Policy) SetBundle(b Bundle) {
	if b == nil {
		b = Bundle{}
	}
	p.bundle.Store(&b)
}

// Bundle returns the current bundle (never nil).
func (p *Policy) Bundle() Bundle { return *p.bundle.Load() }

// Admit reports whether messages from agentID may start or continue a
// conversation. In fleet mode only bundle members are admitted, so agents
// of another fleet on the same relay are ignored.
func (p *Policy) Admit(agentID string) bool {
	if p.mode != Fleet {
		return true
	}
	_, ok := p.Bundle()[agentID]
	return ok
}

// CheckSignPub checks the sign_pub of a valid hs from agentID. pinned is
// the key stored for the peer earlier (nil if none); in tofu mode it and
// the in-memory pin must agree with pub, and pub is pinned when neither
// exists.
func (p *Policy) CheckSignPub(agentID string, pub, pinned ed25519.PublicKey) error {
	switch p.mode {
	case Fleet:
		want, ok := p.Bundle()[agentID]
		if !ok {
			return ErrUnknownAgent
		}
		if !want.Equal(pub) {
			return ErrKeyMismatch
		}
		return nil
	case TOFU:
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(pinned) > 0 && !pinned.Equal(pub) {
			return ErrKeyChanged
		}
		if cur, ok := p.pins[agentID]; ok && !cur.Equal(pub) {
			return ErrKeyChanged
		}
		p.pins[agentID] = append(ed25519.PublicKey(nil), pub...)
		return nil
	}
	return nil
}

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
	bundle atomic.Pointer[bundleState]

	mu     sync.Mutex
	pins   *pinLRU // tofu: first key seen per agent, bounded
	loaded []byte  // bundle file content LoadFile read
}

// bundleState is one bundle generation: keys, caps and extra keys swap
// together.
type bundleState struct {
	keys  Bundle
	caps  Caps
	extra ExtraKeys
}

// NewPolicy returns a policy for mode; bundle may be nil outside fleet
// mode. The TOFU pin map holds DefaultMaxPins peers until SetMaxPins.
func NewPolicy(mode Mode, bundle Bundle) *Policy {
	p := &Policy{mode: mode, pins: newPinLRU(DefaultMaxPins)}
	p.SetBundle(bundle)
	return p
}

// Mode returns the policy's trust mode.
func (p *Policy) Mode() Mode { return p.mode }

// SetBundle replaces the fleet bundle; no agent has caps.
func (p *Policy) SetBundle(b Bundle) { p.SetBundleCaps(b, nil) }

// SetBundleCaps replaces the fleet bundle and its caps in one step; no
// agent has extra keys.
func (p *Policy) SetBundleCaps(b Bundle, caps Caps) { p.SetBundleKeys(b, caps, nil) }

// Bundle returns the current bundle (never nil): each agent's primary key.
// During a key rotation an agent has more accepted keys (Keys, Accepts).
func (p *Policy) Bundle() Bundle { return p.bundle.Load().keys }

// Caps returns the caps the current bundle lists for agentID (nil for a
// string-form entry or an agent outside the bundle). Do not modify it.
func (p *Policy) Caps(agentID string) []Cap {
	return p.bundle.Load().caps[agentID]
}

// RequiresBind reports whether an hs from agentID without a valid `bind`
// must be rejected as a downgrade (plan §2.5): in fleet mode when the
// bundle gives the agent CapBind1; in tofu mode when a verified bind was
// pinned in RAM (MarkBinds). The engine also honours the durable sticky
// pin (role_state.peer_binds), which survives restarts and pin eviction.
// Open mode never requires it.
func (p *Policy) RequiresBind(agentID string) bool {
	switch p.mode {
	case Fleet:
		return p.bundle.Load().caps.Has(agentID, CapBind1)
	case TOFU:
		p.mu.Lock()
		defer p.mu.Unlock()
		pn, ok := p.pins.get(agentID)
		return ok && pn.binds
	}
	return false
}

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

// Check checks the sign_pub of a valid hs from agentID without pinning.
// pinned is the key stored for the peer earlier (nil if none); in tofu
// mode it and the in-memory pin must agree with pub; in fleet mode pub
// must be one of the bundle's keys for agentID (Keys). Call Pin once the
// whole message (hs, sec, bind) passed and the step is saved (plan §5).
func (p *Policy) Check(agentID string, pub, pinned ed25519.PublicKey) error {
	switch p.mode {
	case Fleet:
		st := p.bundle.Load()
		want, ok := st.keys[agentID]
		if !ok {
			return ErrUnknownAgent
		}
		if !want.Equal(pub) && !containsKey(st.extra[agentID], pub) {
			return ErrKeyMismatch
		}
	case TOFU:
		if len(pinned) > 0 && !pinned.Equal(pub) {
			return ErrKeyChanged
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if cur, ok := p.pins.get(agentID); ok && !cur.key.Equal(pub) {
			return ErrKeyChanged
		}
	}
	return nil
}

// CheckSignPub is Check followed by Pin: the behaviour before pinning
// moved after validation. It stays for callers that check and pin in one
// step.
func (p *Policy) CheckSignPub(agentID string, pub, pinned ed25519.PublicKey) error {
	if err := p.Check(agentID, pub, pinned); err != nil {
		return err
	}
	return p.Pin(agentID, pub)
}

// Pin records pub as agentID's key in tofu mode (a no-op in the other
// modes). A different key already pinned is ErrKeyChanged: two messages
// validated concurrently cannot both win. The least recently used pin is
// evicted when the map is full.
func (p *Policy) Pin(agentID string, pub ed25519.PublicKey) error {
	if p.mode != TOFU {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.pins.get(agentID); ok {
		if !cur.key.Equal(pub) {
			return ErrKeyChanged
		}
		return nil
	}
	p.pins.put(&pin{id: agentID, key: append(ed25519.PublicKey(nil), pub...)})
	return nil
}

// MarkBinds records, in tofu mode, that agentID (already pinned) sent a
// verified `bind`; RequiresBind then reports true for it. It reports
// whether a pin was marked.
func (p *Policy) MarkBinds(agentID string) bool {
	if p.mode != TOFU {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pn, ok := p.pins.get(agentID)
	if ok {
		pn.binds = true
	}
	return ok
}

// SetMaxPins bounds the TOFU pin map (the engine passes MaxPeers); n <= 0
// means DefaultMaxPins. Shrinking evicts the least recently used pins.
func (p *Policy) SetMaxPins(n int) {
	if n <= 0 {
		n = DefaultMaxPins
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pins.max = n
	p.pins.shrink()
}

// Unpin forgets agentID's in-memory pin and reports whether there was one.
func (p *Policy) Unpin(agentID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pins.remove(agentID)
}

// PrunePins is the hook for the engine's row garbage collection (plan §5):
// it forgets every pin for which drop returns true (e.g. the peer's rows
// were deleted) and reports how many. drop runs under the policy's lock;
// it must not call back into the policy.
func (p *Policy) PrunePins(drop func(agentID string) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pins.prune(drop)
}

// PinStats reports the pins held and how many were evicted for space since
// the policy was made, for metrics.
func (p *Policy) PinStats() (pins int, evicted uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pins.order.Len(), p.pins.evicted
}

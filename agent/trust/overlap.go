package trust

import (
	"crypto/ed25519"
	"fmt"
)

// MaxExtraKeys bounds the keys one entry accepts besides its primary key.
// A rotation needs one (the next key, then the previous one); the margin
// lets a rotation start while another one's old key is still retiring.
const MaxExtraKeys = 4

// ExtraKeys maps agent ID → the keys accepted for it besides its Bundle
// key: the overlap of a key rotation, when peers must accept both the old
// and the new key of an agent (docs/rotation.md). In the bundle file they
// are the object form's "keys" list. Agents without extra keys have no
// entry.
type ExtraKeys map[string][]ed25519.PublicKey

// others returns id's extra keys other than primary.
func (e ExtraKeys) others(id string, primary ed25519.PublicKey) []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, k := range e[id] {
		if !k.Equal(primary) {
			out = append(out, k)
		}
	}
	return out
}

// parseExtraKeys checks an entry's "keys": each a base64 32-byte Ed25519
// key, at most MaxExtraKeys; the primary key and duplicates collapse.
func parseExtraKeys(id string, primary ed25519.PublicKey, raw []string) ([]ed25519.PublicKey, error) {
	if len(raw) > MaxExtraKeys {
		return nil, fmt.Errorf("%w: %.64q lists %d keys, limit %d", ErrBadBundle, id, len(raw), MaxExtraKeys)
	}
	var out []ed25519.PublicKey
	for _, s := range raw {
		k, err := decodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("%w: a key in \"keys\" of %.64q is not a base64 32-byte Ed25519 key", ErrBadBundle, id)
		}
		if k.Equal(primary) || containsKey(out, k) {
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

func containsKey(keys []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, have := range keys {
		if have.Equal(k) {
			return true
		}
	}
	return false
}

// SetBundleKeys replaces the fleet bundle, its caps and its extra keys in
// one step.
func (p *Policy) SetBundleKeys(b Bundle, caps Caps, extra ExtraKeys) {
	if b == nil {
		b = Bundle{}
	}
	if caps == nil {
		caps = Caps{}
	}
	if extra == nil {
		extra = ExtraKeys{}
	}
	p.bundle.Store(&bundleState{keys: b, caps: caps, extra: extra})
}

// Keys returns every key the current bundle accepts for agentID, its
// primary key first; nil outside the bundle. Callers that verify a
// signature themselves (the relay's authentication) try each one. Do not
// modify it.
func (p *Policy) Keys(agentID string) []ed25519.PublicKey {
	st := p.bundle.Load()
	k, ok := st.keys[agentID]
	if !ok {
		return nil
	}
	more := st.extra[agentID]
	if len(more) == 0 {
		return []ed25519.PublicKey{k}
	}
	return append([]ed25519.PublicKey{k}, more...)
}

// Accepts reports whether the current bundle lists pub as a key of
// agentID, primary or extra.
func (p *Policy) Accepts(agentID string, pub ed25519.PublicKey) bool {
	st := p.bundle.Load()
	k, ok := st.keys[agentID]
	if !ok {
		return false
	}
	return k.Equal(pub) || containsKey(st.extra[agentID], pub)
}

// Rotating reports how many agents of the current bundle have extra keys.
func (p *Policy) Rotating() int { return len(p.bundle.Load().extra) }

package protocol

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// SignKeyChecker is the trust policy's check of a peer's hs key
// (trust.Policy implements it).
type SignKeyChecker interface {
	CheckSignPub(agentID string, pub, pinned ed25519.PublicKey) error
}

// ErrNoEphemeral: an hs arrived in a state where we hold no X25519 key.
var ErrNoEphemeral = errors.New("no ephemeral key for this cycle")

// ErrHSBeforeCycle: an hs signed before the current cycle started on our
// side (beyond hsCycleSkew) is a replay from an earlier cycle.
var ErrHSBeforeCycle = errors.New("hs timestamp predates the current cycle")

// hsCycleSkew is how far a peer's clock may lag ours before its hs looks
// older than our cycle. hs timestamps have whole seconds, so it must be at
// least 1 s; the nonce log, not this check, is the primary replay guard.
const hsCycleSkew = 10 * time.Second

// ErrNoMessage: a sec opened but held no "message" string.
var ErrNoMessage = errors.New("sec plaintext has no message string")

// LazyKey is our X25519 key for a cycle, drawn on first use: the
// initiator hands VerifyHS one with only New set, so an hs that fails any
// check costs no key generation (issue 12 item 6).
type LazyKey struct {
	Key *ecdh.PrivateKey
	New func() (*ecdh.PrivateKey, error)
}

// Get returns the key, drawing it if needed.
func (l *LazyKey) Get() (*ecdh.PrivateKey, error) {
	if l == nil {
		return nil, ErrNoEphemeral
	}
	if l.Key == nil && l.New != nil {
		k, err := l.New()
		if err != nil {
			return nil, err
		}
		l.Key = k
	}
	if l.Key == nil {
		return nil, ErrNoEphemeral
	}
	return l.Key, nil
}

// verifyHS validates a peer's hs, checks its key against the trust policy and
// derives the session key. nonces answers whether the hs nonce was already
// received; recording it is left to the machine, which logs the same nonce
// as my_nonce (and under the hs flow) once the step is saved. A non-zero
// notBefore rejects an hs whose timestamp is older.
func verifyHS(ctx context.Context, raw any, typ, nonce string, kx *ecdh.PrivateKey, pinned string,
	peer string, policy SignKeyChecker, nonces func(context.Context, string) (bool, error), now, notBefore time.Time) (*Session, error) {
	return VerifyHandshake(ctx, raw, typ, nonce, &LazyKey{Key: kx}, pinned, peer, policy, nonces, now, notBefore)
}

// VerifyHandshake is what an Env's VerifyHS does: verifyHS with the checks
// cheapest first: parse, the sign_pub against the bundle or pin (a
// comparison), then the nonce log and the signature
// (crypto.CheckHandshake), the cycle bound, and only then our key (drawn
// now if kx has none) and the ECDH.
func VerifyHandshake(ctx context.Context, raw any, typ, nonce string, kx *LazyKey, pinned string,
	peer string, policy SignKeyChecker, nonces func(context.Context, string) (bool, error), now, notBefore time.Time) (*Session, error) {
	if kx == nil || (kx.Key == nil && kx.New == nil) {
		return nil, ErrNoEphemeral
	}
	h, err := crypto.HandshakeFromPayload(raw)
	if err != nil {
		return nil, err
	}
	signPub, err := crypto.SignPubOf(h)
	if err != nil {
		return nil, err
	}
	pin := decodePin(pinned)
	// Before the signature only checks without side effects: the row's
	// pin and the fleet bundle. A TOFU policy pins the first key it sees,
	// so it must see only signed ones.
	early := policy != nil && checksWithoutPinning(policy)
	switch {
	case early:
		if err := policy.CheckSignPub(peer, signPub, pin); err != nil {
			return nil, err
		}
	case len(pin) > 0 && !pin.Equal(signPub):
		return nil, trust.ErrKeyChanged
	}
	res, err := crypto.CheckHandshake(ctx, h, typ, nonce, lookupOnly(nonces), now)
	if err != nil {
		return nil, err
	}
	if policy != nil && !early {
		if err := policy.CheckSignPub(peer, signPub, pin); err != nil {
			return nil, err
		}
	}
	if !notBefore.IsZero() {
		// CheckHandshake parsed this timestamp already.
		if ts, err := time.Parse(crypto.TimestampLayout, h.Timestamp); err != nil || ts.Before(notBefore.Truncate(time.Second)) {
			return nil, fmt.Errorf("%w: hs at %s, cycle started after %s", ErrHSBeforeCycle, h.Timestamp, notBefore.Format(crypto.TimestampLayout))
		}
	}
	priv, err := kx.Get()
	if err != nil {
		return nil, err
	}
	key, err := crypto.SessionKey(priv, res.PeerKxPub)
	if err != nil {
		return nil, err
	}
	return &Session{Key: key, PeerSignPub: res.PeerSignPub, PeerKxPub: res.PeerKxPub}, nil
}

// checksWithoutPinning reports whether policy's CheckSignPub has no side
// effects (fleet mode compares against the bundle; tofu pins).
func checksWithoutPinning(policy SignKeyChecker) bool {
	p, ok := policy.(interface{ Mode() trust.Mode })
	return ok && p.Mode() == trust.Fleet
}

// lookupOnly adapts a nonce lookup to crypto.NonceStore with a no-op Add.
type lookupOnly func(context.Context, string) (bool, error)

func (f lookupOnly) Exists(ctx context.Context, n string) (bool, error) { return f(ctx, n) }
func (lookupOnly) Add(context.Context, string) error                    { return nil }

// OpenSec verifies and decrypts sec and returns its plaintext object.
func OpenSec(raw any, s *Session) (map[string]any, error) {
	return crypto.OpenSec(raw, s.Key, s.PeerSignPub)
}

// NewEphemeral is a fresh X25519 key for one cycle.
func NewEphemeral() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ephemeral X25519 key: %w", err)
	}
	return k, nil
}

// RenderOpts are the agent-wide choices Render applies to every message.
type RenderOpts struct {
	// Seal: seal Text into sec once a session key exists (secure
	// envelopes on).
	Seal bool
	// NoBinding: a legacy agent (Machine.DisableBinding): no hs bind and
	// no hsf header.
	NoBinding bool
}

// sealText seals o.Text, with the binding header unless noBinding (then
// exactly what the Python reference seals).
func sealText(o Out, self, peer string, s *Session, id *crypto.Identity, noBinding bool, now time.Time) (map[string]any, error) {
	if noBinding {
		return crypto.SealSec(map[string]any{"message": o.Text}, s.Key, id.SignPriv, now)
	}
	return sealBound(o, self, peer, s, id, now)
}

// Render turns an Out into the payload the reference sends (spec §3.4):
// to, intent, the message's fields, hs, sec or message, and from last. The
// wire encoder sorts keys, which receivers ignore (spec §1.2).
func Render(o Out, self, peer string, mem Mem, id *crypto.Identity, opts RenderOpts, now time.Time) (map[string]any, error) {
	p := map[string]any{"to": peer, "intent": string(o.Intent), "from": self}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("your_nonce", o.YourNonce)
	set("my_nonce", o.MyNonce)
	set("your_ref", o.YourRef)
	set("my_ref", o.MyRef)
	if o.HSType != "" {
		if mem.Ephemeral == nil {
			return nil, ErrNoEphemeral
		}
		hs := crypto.BuildHandshake(o.HSType, o.MyNonce, mem.Ephemeral, id.SignPriv, now).Payload()
		if !opts.NoBinding {
			if err := signBind(hs, o, self, peer, mem, id.SignPriv); err != nil {
				return nil, fmt.Errorf("bind %s: %w", o.Intent, err)
			}
		}
		p["hs"] = hs
	}
	if o.MACKey != nil {
		mac, err := macOf(o, self, peer)
		if err != nil {
			return nil, fmt.Errorf("mac %s: %w", o.Intent, err)
		}
		p["mac"] = mac
	}
	if o.Text != "" {
		if opts.Seal && mem.Session != nil {
			sec, err := sealText(o, self, peer, mem.Session, id, opts.NoBinding, now)
			if err != nil {
				return nil, fmt.Errorf("seal %s: %w", o.Intent, err)
			}
			p["sec"] = sec
		} else {
			p["message"] = o.Text
		}
	}
	return p, nil
}

// decodePin reads a row's stored tofu pin (base64 Ed25519 key); anything
// else, including no pin, is nil.
func decodePin(pinned string) ed25519.PublicKey {
	if p, err := base64.StdEncoding.DecodeString(pinned); err == nil && len(p) == ed25519.PublicKeySize {
		return p
	}
	return nil
}

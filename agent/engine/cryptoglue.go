package engine

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

// verifyHS validates a peer's hs, checks its key against the trust policy and
// derives the session key. nonces answers whether the hs nonce was already
// received; recording it is left to the machine, which logs the same nonce
// as my_nonce (and under the hs flow) once the step is saved. A non-zero
// notBefore rejects an hs whose timestamp is older.
func verifyHS(ctx context.Context, raw any, typ, nonce string, kx *ecdh.PrivateKey, pinned string,
	peer string, policy SignKeyChecker, nonces func(context.Context, string) (bool, error), now, notBefore time.Time) (*Session, error) {
	if kx == nil {
		return nil, ErrNoEphemeral
	}
	h, err := crypto.HandshakeFromPayload(raw)
	if err != nil {
		return nil, err
	}
	res, err := crypto.ValidateHandshake(ctx, h, typ, nonce, lookupOnly(nonces), kx, now)
	if err != nil {
		return nil, err
	}
	if !notBefore.IsZero() {
		// ValidateHandshake parsed this timestamp already.
		if ts, err := time.Parse(crypto.TimestampLayout, h.Timestamp); err != nil || ts.Before(notBefore.Truncate(time.Second)) {
			return nil, fmt.Errorf("%w: hs at %s, cycle started after %s", ErrHSBeforeCycle, h.Timestamp, notBefore.Format(crypto.TimestampLayout))
		}
	}
	var pin ed25519.PublicKey
	if pinned != "" {
		if p, err := base64.StdEncoding.DecodeString(pinned); err == nil && len(p) == ed25519.PublicKeySize {
			pin = p
		}
	}
	if policy != nil {
		if err := policy.CheckSignPub(peer, res.PeerSignPub, pin); err != nil {
			return nil, err
		}
	}
	return &Session{Key: res.SessionKey, PeerSignPub: res.PeerSignPub, PeerKxPub: res.PeerKxPub}, nil
}

// lookupOnly adapts a nonce lookup to crypto.NonceStore with a no-op Add.
type lookupOnly func(context.Context, string) (bool, error)

func (f lookupOnly) Exists(ctx context.Context, n string) (bool, error) { return f(ctx, n) }
func (lookupOnly) Add(context.Context, string) error                    { return nil }

// openSec verifies and decrypts sec and returns its message text.
func openSec(raw any, s *Session) (string, error) {
	obj, err := crypto.OpenSec(raw, s.Key, s.PeerSignPub)
	if err != nil {
		return "", err
	}
	text, ok := obj["message"].(string)
	if !ok {
		return "", ErrNoMessage
	}
	return text, nil
}

// newEphemeral is a fresh X25519 key for one cycle.
func newEphemeral() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ephemeral X25519 key: %w", err)
	}
	return k, nil
}

// render turns an Out into the payload the reference sends (spec §3.4):
// to, intent, the message's fields, hs, sec or message, and from last. The
// wire encoder sorts keys, which receivers ignore (spec §1.2).
func render(o Out, self, peer string, mem Mem, id *crypto.Identity, seal bool, now time.Time) (map[string]any, error) {
	p := map[string]any{"to": peer, "intent": o.Intent, "from": self}
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
		p["hs"] = crypto.BuildHandshake(o.HSType, o.MyNonce, mem.Ephemeral, id.SignPriv, now).Payload()
	}
	if o.Text != "" {
		if seal && mem.Session != nil {
			sec, err := crypto.SealSec(map[string]any{"message": o.Text}, mem.Session.Key, id.SignPriv, now)
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

package crypto

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"
)

// NonceStore remembers hs nonces already accepted from a peer, so a replayed
// hs is refused within the TTL.
type NonceStore interface {
	Exists(ctx context.Context, nonce string) (bool, error)
	Add(ctx context.Context, nonce string) error
}

// HandshakeResult is what a valid hs yields.
type HandshakeResult struct {
	SessionKey  []byte
	PeerSignPub ed25519.PublicKey
	PeerKxPub   []byte
}

// ValidateHandshake checks h in the reference's order (spec §4.2): type,
// timestamp syntax, nonce, replay and age, signature; then it derives the
// session key and records the nonce. Timestamps are read as UTC and refused
// when more than HandshakeTTL old or in the future.
func ValidateHandshake(ctx context.Context, h Handshake, expectedType, expectedNonce string, store NonceStore, kxPriv *ecdh.PrivateKey, now time.Time) (HandshakeResult, error) {
	peer, err := CheckHandshake(ctx, h, expectedType, expectedNonce, store, now)
	if err != nil {
		return HandshakeResult{}, err
	}
	key, err := SessionKey(kxPriv, peer.PeerKxPub)
	if err != nil {
		return HandshakeResult{}, err
	}
	if err := store.Add(ctx, h.Nonce); err != nil {
		return HandshakeResult{}, fmt.Errorf("hs: nonce store add: %w", err)
	}
	peer.SessionKey = key
	return peer, nil
}

// CheckHandshake is ValidateHandshake without the key exchange and without
// recording the nonce: every check up to and including the signature, and
// the decoded kx_pub. A caller draws its X25519 key only after this passed,
// so a forged hs costs it no key generation (issue 12 item 6). The result's
// SessionKey is nil.
func CheckHandshake(ctx context.Context, h Handshake, expectedType, expectedNonce string, store NonceStore, now time.Time) (HandshakeResult, error) {
	if h.Type != expectedType {
		return HandshakeResult{}, fmt.Errorf("%w: got %.20q, want %q", ErrWrongType, h.Type, expectedType)
	}
	ts, err := ParseTimestamp(h.Timestamp)
	if err != nil {
		return HandshakeResult{}, err
	}
	if h.Nonce != expectedNonce {
		return HandshakeResult{}, ErrNonceMismatch
	}
	seen, err := store.Exists(ctx, h.Nonce)
	if err != nil {
		return HandshakeResult{}, fmt.Errorf("hs: nonce store lookup: %w", err)
	}
	if seen {
		return HandshakeResult{}, ErrReplay
	}
	if age := now.Sub(ts); age > HandshakeTTL {
		return HandshakeResult{}, fmt.Errorf("%w: %s old", ErrStale, age.Truncate(time.Second))
	} else if age < -HandshakeTTL {
		return HandshakeResult{}, fmt.Errorf("%w: %s ahead", ErrFuture, (-age).Truncate(time.Second))
	}
	signPub, err := decodeKey(h.SignPub, "sign_pub", ed25519.PublicKeySize)
	if err != nil {
		return HandshakeResult{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(h.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return HandshakeResult{}, fmt.Errorf("%w: sig is not a base64 Ed25519 signature", ErrBadSignature)
	}
	if !ed25519.Verify(signPub, h.SignedBytes(), sig) {
		return HandshakeResult{}, ErrBadSignature
	}
	kxPub, err := decodeKey(h.KxPub, "kx_pub", 32)
	if err != nil {
		return HandshakeResult{}, err
	}
	return HandshakeResult{PeerSignPub: ed25519.PublicKey(signPub), PeerKxPub: kxPub}, nil
}

// SignPubOf decodes h's sign_pub, so a caller can check it against its
// trust policy before any other work.
func SignPubOf(h Handshake) (ed25519.PublicKey, error) {
	return decodeKey(h.SignPub, "sign_pub", ed25519.PublicKeySize)
}

// ParseTimestamp reads an hs or envelope timestamp as UTC. Like Python's
// fromisoformat it accepts a fractional second; a zone suffix is refused,
// as the reference fails on aware timestamps too.
func ParseTimestamp(s string) (time.Time, error) {
	if len(s) < len(TimestampLayout) || len(s) > len(TimestampLayout)+10 {
		return time.Time{}, fmt.Errorf("%w: %.40q", ErrBadTimestamp, s)
	}
	t, err := time.ParseInLocation(TimestampLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %.40q", ErrBadTimestamp, s)
	}
	return t, nil
}

func decodeKey(b64, field string, size int) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != size {
		return nil, fmt.Errorf("%w: %s is not a base64 %d-byte key", ErrBadKey, field, size)
	}
	return raw, nil
}

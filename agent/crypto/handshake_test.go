package crypto

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newParty(t testing.TB) party {
	t.Helper()
	_, sign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kx, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return party{sign: sign, kx: kx}
}

func TestHandshakeBetweenTwoPartiesGivesBothTheSameKey(t *testing.T) {
	a, b := newParty(t), newParty(t)
	ctx := context.Background()
	nonceA, nonceB := NewNonce(), NewNonce()

	resp := BuildHandshake(HandshakeResponse, nonceB, b.kx, b.sign, t0)
	atA, err := ValidateHandshake(ctx, resp, HandshakeResponse, nonceB, newMemStore(), a.kx, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	init := BuildHandshake(HandshakeInit, nonceA, a.kx, a.sign, t0)
	atB, err := ValidateHandshake(ctx, init, HandshakeInit, nonceA, newMemStore(), b.kx, t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(atA.SessionKey, atB.SessionKey) || len(atA.SessionKey) != SessionKeySize {
		t.Errorf("keys differ: %x vs %x", atA.SessionKey, atB.SessionKey)
	}
	if !atA.PeerSignPub.Equal(b.sign.Public()) || !atB.PeerSignPub.Equal(a.sign.Public()) {
		t.Error("peer sign pubs not reported")
	}
}

func TestValidateHandshakeRejections(t *testing.T) {
	a, b := newParty(t), newParty(t)
	const nonce = "00112233445566778899aabbccddeeff"
	good := BuildHandshake(HandshakeInit, nonce, a.kx, a.sign, t0)
	lowOrder := make([]byte, 32) // the all-zero point has order 1 on Curve25519
	other := newParty(t)

	for _, tc := range []struct {
		name     string
		mutate   func(h *Handshake)
		expected string // expected nonce; defaults to nonce
		now      time.Time
		seen     bool
		want     error
	}{
		{name: "wrong type", mutate: func(h *Handshake) { h.Type = HandshakeResponse }, want: ErrWrongType},
		{name: "unparsable timestamp", mutate: func(h *Handshake) { h.Timestamp = "yesterday" }, want: ErrBadTimestamp},
		{name: "timestamp with zone", mutate: func(h *Handshake) { h.Timestamp += "+00:00" }, want: ErrBadTimestamp},
		{name: "wrong nonce", expected: "ffeeddccbbaa99887766554433221100", want: ErrNonceMismatch},
		{name: "replayed nonce", seen: true, want: ErrReplay},
		{name: "stale by more than 60 s", now: t0.Add(61 * time.Second), want: ErrStale},
		{name: "more than 60 s in the future", now: t0.Add(-61 * time.Second), want: ErrFuture},
		{name: "tampered signature", mutate: func(h *Handshake) {
			sig, _ := base64.StdEncoding.DecodeString(h.Sig)
			sig[0] ^= 1
			h.Sig = base64.StdEncoding.EncodeToString(sig)
		}, want: ErrBadSignature},
		{name: "signature not base64", mutate: func(h *Handshake) { h.Sig = "!!" }, want: ErrBadSignature},
		{name: "signed by another key", mutate: func(h *Handshake) {
			h.SignPub = base64.StdEncoding.EncodeToString(other.sign.Public().(ed25519.PublicKey))
		}, want: ErrBadSignature},
		{name: "kx_pub swapped after signing", mutate: func(h *Handshake) {
			h.KxPub = base64.StdEncoding.EncodeToString(other.kx.PublicKey().Bytes())
		}, want: ErrBadSignature},
		{name: "timestamp changed after signing", mutate: func(h *Handshake) { h.Timestamp = "2025-01-01T12:00:01" }, want: ErrBadSignature},
		{name: "short sign_pub", mutate: func(h *Handshake) { h.SignPub = "AAAA" }, want: ErrBadKey},
		{name: "short kx_pub (validly signed)", mutate: func(h *Handshake) {
			*h = signed(a.sign, HandshakeInit, nonce, "AAAA", h.Timestamp)
		}, want: ErrBadKey},
		{name: "low-order kx_pub (validly signed)", mutate: func(h *Handshake) {
			*h = signed(a.sign, HandshakeInit, nonce, base64.StdEncoding.EncodeToString(lowOrder), h.Timestamp)
		}, want: ErrLowOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := good
			if tc.mutate != nil {
				tc.mutate(&h)
			}
			expected := nonce
			if tc.expected != "" {
				expected = tc.expected
			}
			now := t0
			if !tc.now.IsZero() {
				now = tc.now
			}
			store := newMemStore()
			if tc.seen {
				store.seen[nonce] = true
			}
			res, err := ValidateHandshake(context.Background(), h, HandshakeInit, expected, store, b.kx, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if res.SessionKey != nil {
				t.Error("a rejected hs returned a session key")
			}
			if !tc.seen && store.seen[nonce] {
				t.Error("a rejected hs recorded its nonce")
			}
		})
	}
}

func TestValidateHandshakeAcceptsEdgesOfTheWindow(t *testing.T) {
	a, b := newParty(t), newParty(t)
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"exactly 60 s old", t0.Add(60 * time.Second)},
		{"exactly 60 s ahead", t0.Add(-60 * time.Second)},
		{"one second old", t0.Add(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
			if _, err := ValidateHandshake(context.Background(), h, HandshakeInit, "n", newMemStore(), b.kx, tc.now); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Python's fromisoformat accepts a fraction; so do we.
	h := signed(a.sign, HandshakeInit, "n", base64.StdEncoding.EncodeToString(a.kx.PublicKey().Bytes()), "2025-01-01T12:00:00.250000")
	if _, err := ValidateHandshake(context.Background(), h, HandshakeInit, "n", newMemStore(), b.kx, t0); err != nil {
		t.Errorf("fractional timestamp: %v", err)
	}
}

func TestValidateHandshakeReportsStoreFailures(t *testing.T) {
	a, b := newParty(t), newParty(t)
	h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
	dbDown := errors.New("connection refused")
	store := newMemStore()
	store.failErr = dbDown
	_, err := ValidateHandshake(context.Background(), h, HandshakeInit, "n", store, b.kx, t0)
	if !errors.Is(err, dbDown) {
		t.Errorf("err = %v, want the store error wrapped", err)
	}
}

func TestSecondValidationOfSameHandshakeIsReplay(t *testing.T) {
	a, b := newParty(t), newParty(t)
	h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
	store := newMemStore()
	if _, err := ValidateHandshake(context.Background(), h, HandshakeInit, "n", store, b.kx, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateHandshake(context.Background(), h, HandshakeInit, "n", store, b.kx, t0); !errors.Is(err, ErrReplay) {
		t.Errorf("second validation: err = %v, want ErrReplay", err)
	}
}

func TestHandshakePayloadRoundTrip(t *testing.T) {
	a := newParty(t)
	h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
	got, err := HandshakeFromPayload(h.Payload())
	if err != nil || got != h {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, h)
	}
	for name, v := range map[string]any{
		"not an object":     "hs",
		"nil":               nil,
		"missing sig":       map[string]any{"type": "init", "nonce": "n", "kx_pub": "k", "sign_pub": "s", "timestamp": "t"},
		"number for nonce":  map[string]any{"type": "init", "nonce": int64(5), "kx_pub": "k", "sign_pub": "s", "timestamp": "t", "sig": "x"},
		"null for kx_pub":   map[string]any{"type": "init", "nonce": "n", "kx_pub": nil, "sign_pub": "s", "timestamp": "t", "sig": "x"},
		"string map (typo)": map[string]string{"type": "init"},
	} {
		if _, err := HandshakeFromPayload(v); !errors.Is(err, ErrBadHandshake) {
			t.Errorf("%s: err = %v, want ErrBadHandshake", name, err)
		}
	}
}

func TestSessionKeyRejectsBadPeerKeys(t *testing.T) {
	a := newParty(t)
	for name, tc := range map[string]struct {
		pub  []byte
		want error
	}{
		"short":      {make([]byte, 31), ErrBadKey},
		"empty":      {nil, ErrBadKey},
		"all zero":   {make([]byte, 32), ErrLowOrder},
		"order 8 pt": {mustHex(t, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"), ErrLowOrder},
	} {
		if _, err := SessionKey(a.kx, tc.pub); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if _, err := SessionKey(nil, a.kx.PublicKey().Bytes()); !errors.Is(err, ErrBadKey) {
		t.Errorf("nil private key: err = %v, want ErrBadKey", err)
	}
}

// signed builds an hs with arbitrary fields and a valid signature.
func signed(priv ed25519.PrivateKey, typ, nonce, kxPub, ts string) Handshake {
	h := Handshake{Type: typ, Nonce: nonce, KxPub: kxPub, Timestamp: ts,
		SignPub: base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))}
	h.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, h.SignedBytes()))
	return h
}

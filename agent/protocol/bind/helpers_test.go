package bind

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// testKey is a fixed Ed25519 key so golden vectors are stable: seed =
// SHA-256(name).
func testKey(t testing.TB, name string) ed25519.PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testPub(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

// confirmTranscript is a realistic responder transcript.
func confirmTranscript() Transcript {
	return Transcript{
		From:  "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd",
		To:    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		Type:  "response",
		Echo:  "",
		Nonce: "00112233445566778899aabbccddeeff",
		KxPub: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
		TS:    "2025-01-01T12:00:00",
	}
}

// requestTranscript is a realistic initiator transcript.
func requestTranscript() Transcript {
	return Transcript{
		From:      "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		To:        "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd",
		Type:      "init",
		Echo:      "00112233445566778899aabbccddeeff",
		Nonce:     "ffeeddccbbaa99887766554433221100",
		KxPub:     "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=",
		PeerKxPub: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
		TS:        "2025-01-01T12:00:01",
	}
}

func testHeader() Header {
	return Header{
		From:      "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		To:        "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd",
		Intent:    "request",
		MyNonce:   "ffeeddccbbaa99887766554433221100",
		YourNonce: "00112233445566778899aabbccddeeff",
	}
}

func testFields() Fields {
	return Fields{
		From:    "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd",
		To:      "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		Intent:  "finish",
		YourRef: "1234567891",
		MyRef:   "9876543219",
	}
}

// testSessionKey is a fixed 32-byte session key: SHA-256("session").
func testSessionKey() []byte {
	k := sha256.Sum256([]byte("session"))
	return k[:]
}

func mustTS(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := crypto.ParseTimestamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// memNonces is a crypto.NonceStore in a map.
type memNonces map[string]bool

func (m memNonces) Exists(_ context.Context, n string) (bool, error) { return m[n], nil }
func (m memNonces) Add(_ context.Context, n string) error            { m[n] = true; return nil }

var benchNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

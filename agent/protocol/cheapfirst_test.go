package protocol

import (
	"context"
	"crypto/ecdh"
	"errors"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// countingEnv counts the X25519 keys a step draws.
type countingEnv struct {
	*memEnv
	keys int
}

func (e *countingEnv) NewEphemeral() (*ecdh.PrivateKey, error) {
	e.keys++
	return NewEphemeral()
}

// An initiator draws its X25519 key only for a confirm whose hs passed
// every check: a forged confirm costs it a comparison or a signature
// check, never a key (issue 12 item 6).
func TestInitiatorDrawsNoKeyForARejectedConfirm(t *testing.T) {
	self, peer, attacker := mustIdentity(t, "self"), mustIdentity(t, "peer"), mustIdentity(t, "attacker")
	bundle := trust.Bundle{peer.ID: peer.SignPub()}
	kx, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	nonce := crypto.NewNonce()
	signed := func(id *crypto.Identity) map[string]any {
		return map[string]any{"to": self.ID, "intent": string(IntentConfirm), "from": peer.ID, "my_nonce": nonce,
			"hs": crypto.BuildHandshake("response", nonce, kx, id.SignPriv, now).Payload()}
	}
	badSig := signed(peer)
	badSig["hs"].(map[string]any)["sig"] = signed(attacker)["hs"].(map[string]any)["sig"]
	tests := []struct {
		name     string
		payload  map[string]any
		wantKeys int
	}{
		{"hs signed by a key outside the bundle", signed(attacker), 0},
		{"hs with the bundle key and a bad signature", badSig, 0},
		{"genuine hs", signed(peer), 1},
	}
	m := Machine{Policy: Policy{Strict: true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &countingEnv{memEnv: newMemEnv(peer.ID, trust.NewPolicy(trust.Fleet, bundle))}
			env.now = now
			msg, err := ParseMsg(tc.payload, "127.0.0.1:1", self.ID)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.OnMessage(Row{State: StateInitReady}, Mem{}, msg, env)
			if err != nil {
				t.Fatal(err)
			}
			if env.keys != tc.wantKeys {
				t.Fatalf("%d keys drawn, want %d (ignored %q)", env.keys, tc.wantKeys, res.Ignored)
			}
			if accepted := res.Ignored == ""; accepted != (tc.wantKeys == 1) {
				t.Fatalf("ignored %q", res.Ignored)
			}
			if tc.wantKeys == 1 && res.Mem.Ephemeral == nil {
				t.Fatal("accepted confirm left no key for the cycle's request hs")
			}
		})
	}
}

// In fleet mode the bundle check runs before the signature: an hs under
// a foreign key fails as key_mismatch even when its signature is garbage.
// In tofu mode nothing is pinned before the signature verified.
func TestVerifyHSChecksTheKeyBeforeTheSignature(t *testing.T) {
	peer, attacker := mustIdentity(t, "peer"), mustIdentity(t, "attacker")
	kx, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	nonce := crypto.NewNonce()
	raw := crypto.BuildHandshake("response", nonce, kx, attacker.SignPriv, now).Payload()
	raw["sig"] = "AAAA"
	unseen := func(context.Context, string) (bool, error) { return false, nil }
	fleet := trust.NewPolicy(trust.Fleet, trust.Bundle{peer.ID: peer.SignPub()})
	if _, err := verifyHS(context.Background(), raw, "response", nonce, kx, "", peer.ID, fleet, unseen, now, time.Time{}); !errors.Is(err, trust.ErrKeyMismatch) {
		t.Fatalf("fleet: err = %v, want key mismatch", err)
	}
	tofu := trust.NewPolicy(trust.TOFU, nil)
	if _, err := verifyHS(context.Background(), raw, "response", nonce, kx, "", peer.ID, tofu, unseen, now, time.Time{}); !errors.Is(err, crypto.ErrBadSignature) {
		t.Fatalf("tofu: err = %v, want bad signature", err)
	}
	// The unsigned key was not pinned: the genuine key is accepted.
	genuine := crypto.BuildHandshake("response", nonce, kx, peer.SignPriv, now).Payload()
	if _, err := verifyHS(context.Background(), genuine, "response", nonce, kx, "", peer.ID, tofu, unseen, now, time.Time{}); err != nil {
		t.Fatalf("tofu: genuine hs after a forged one: %v", err)
	}
}

package crypto

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

var handshakeErrors = []error{ErrWrongType, ErrBadTimestamp, ErrNonceMismatch, ErrReplay, ErrStale,
	ErrFuture, ErrBadSignature, ErrBadKey, ErrLowOrder}

func isOneOf(err error, known []error) bool {
	for _, k := range known {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// FuzzValidateHandshake: any hs fields either validate, with a signature
// that really verifies, or fail with a typed error.
func FuzzValidateHandshake(f *testing.F) {
	v := loadVectors(f)
	b := mustParty(f, v.BSignSeedHex, v.BKxPrivHex)
	h := v.HS
	f.Add(h.Type, h.Nonce, h.KxPub, h.SignPub, h.Timestamp, h.Sig)
	f.Add("init", h.Nonce, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", h.SignPub, h.Timestamp, h.Sig)
	f.Add("init", h.Nonce, h.KxPub, h.SignPub, "2025-01-01T12:00:00.5", h.Sig)
	f.Add("response", "", "", "", "", "")
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, typ, nonce, kxPub, signPub, ts, sig string) {
		hs := Handshake{Type: typ, Nonce: nonce, KxPub: kxPub, SignPub: signPub, Timestamp: ts, Sig: sig}
		res, err := ValidateHandshake(context.Background(), hs, "init", nonce, newMemStore(), b.kx, now)
		if err != nil {
			if !isOneOf(err, handshakeErrors) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if len(res.SessionKey) != SessionKeySize {
			t.Fatalf("accepted with key %x", res.SessionKey)
		}
		if !ed25519.Verify(res.PeerSignPub, hs.SignedBytes(), mustB64(t, sig)) {
			t.Fatal("accepted an hs whose signature does not verify")
		}
	})
}

// FuzzOpenSec: any JSON sec object opens only with a valid signature, and
// otherwise fails with a typed error.
func FuzzOpenSec(f *testing.F) {
	v := loadVectors(f)
	key := mustHex(f, v.SymKeyHex)
	pub := ed25519.PublicKey(mustB64(f, v.ASignPubB64))
	seed, err := json.Marshal(v.Sec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"envelope":{"nonce":"AAECAwQFBgcICQoL","ciphertext":"","hash":"","ts":""},"sig":""}`))
	f.Add([]byte(`{"envelope":{"x":1},"sig":"AA=="}`))
	f.Add([]byte(`[]`))
	known := []error{ErrBadEnvelope, ErrBadSignature, ErrDecrypt, ErrHashMismatch, ErrBadPlaintext, ErrBadKey}
	f.Fuzz(func(t *testing.T, data []byte) {
		sec, err := pyjson.Parse(data, 16)
		if err != nil {
			return
		}
		obj, err := OpenSec(sec, key, pub)
		if err != nil {
			if !isOneOf(err, known) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if obj == nil {
			t.Fatal("opened to a nil object")
		}
		signed, _ := CanonicalJSON(sec.(map[string]any)["envelope"])
		if !ed25519.Verify(pub, signed, mustB64(t, sec.(map[string]any)["sig"].(string))) {
			t.Fatal("opened an envelope whose signature does not verify")
		}
	})
}

// FuzzOpenIdentity: any file either opens to a usable identity or fails
// with a typed error. Mutations that reach scrypt cost ~50 ms each, so most
// coverage comes from the layers before it.
func FuzzOpenIdentity(f *testing.F) {
	v := loadVectors(f)
	good, err := json.Marshal(v.IdentityFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":"id.v1","kdf":"scrypt","salt":"","nonce":"AAECAwQFBgcICQoL","aad":"","ciphertext":""}`))
	f.Add([]byte(`{"v":"id.v2"}`))
	f.Add([]byte(`null`))
	known := []error{ErrIdentityFormat, ErrIdentityVersion, ErrIdentityDecrypt, ErrIdentityTooLarge, ErrIdentityPassphrase}
	pass := DefaultPassphrase("alice")
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := OpenIdentity(data, pass)
		if err != nil {
			if !isOneOf(err, known) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if id.ID == "" || id.KxPriv == nil || len(id.SignPriv) != ed25519.PrivateKeySize {
			t.Fatalf("opened an unusable identity: %+v", id)
		}
	})
}

// FuzzIdentityPlaintext covers what follows decryption, without scrypt.
func FuzzIdentityPlaintext(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.IdentityPlain))
	f.Add([]byte(`{"my_id":"x","sign_priv_b64":"","kx_priv_b64":""}`))
	f.Add([]byte(`{"my_id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p identityPlain
		if json.Unmarshal(data, &p) != nil {
			return
		}
		id, err := identityFromPlain(p)
		if err != nil {
			if !isOneOf(err, []error{ErrIdentityFormat, ErrBadKey}) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if validateID(id.ID) != nil || id.KxPriv == nil || len(id.SignPriv) != ed25519.PrivateKeySize {
			t.Fatalf("unusable identity: %+v", id)
		}
	})
}

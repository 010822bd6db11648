package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	a := newParty(t)
	key := mustHex(t, "11e2d51b549eb2a2f4357d088bb499cd06d4de219b832c00924bb0a4a0a519d7")
	for name, obj := range map[string]map[string]any{
		"message":    {"message": "I am OK!"},
		"non-ASCII":  {"message": "héllo 😀", "n": int64(3)},
		"nested":     {"a": map[string]any{"b": []any{"c", nil, true, 1.5}}},
		"empty body": {},
	} {
		t.Run(name, func(t *testing.T) {
			sec, err := SealSec(obj, key, a.sign, t0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := OpenSec(sec, key, a.sign.Public().(ed25519.PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, obj) {
				t.Errorf("opened %#v, want %#v", got, obj)
			}
		})
	}
}

func TestSealUsesAFreshNonceEachTime(t *testing.T) {
	a := newParty(t)
	key := make([]byte, 32)
	s1, _ := SealSec(map[string]any{"message": "x"}, key, a.sign, t0)
	s2, _ := SealSec(map[string]any{"message": "x"}, key, a.sign, t0)
	n1 := s1["envelope"].(map[string]any)["nonce"]
	n2 := s2["envelope"].(map[string]any)["nonce"]
	if n1 == n2 {
		t.Errorf("two seals reused nonce %v", n1)
	}
}

// An envelope signed with extra keys (a future sender) still verifies,
// because the signature is checked over the envelope as received.
func TestOpenVerifiesEnvelopeWithExtraKeysAsSigned(t *testing.T) {
	a := newParty(t)
	key := make([]byte, 32)
	sec, err := SealSec(map[string]any{"message": "x"}, key, a.sign, t0)
	if err != nil {
		t.Fatal(err)
	}
	env := sec["envelope"].(map[string]any)
	env["zeta"] = "ünïcode 😀"
	signedBytes, _ := CanonicalJSON(env)
	sec["sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(a.sign, signedBytes))
	if _, err := OpenSec(sec, key, a.sign.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSecRejections(t *testing.T) {
	a, other := newParty(t), newParty(t)
	key := make([]byte, 32)
	wrongKey := make([]byte, 32)
	wrongKey[0] = 1
	pub := a.sign.Public().(ed25519.PublicKey)

	fresh := func() map[string]any {
		sec, err := SealSec(map[string]any{"message": "How are you?"}, key, a.sign, t0)
		if err != nil {
			t.Fatal(err)
		}
		return sec
	}
	// resign re-signs a modified envelope so the check under test is reached.
	resign := func(sec map[string]any) {
		b, err := CanonicalJSON(sec["envelope"])
		if err != nil {
			t.Fatal(err)
		}
		sec["sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(a.sign, b))
	}
	env := func(sec map[string]any) map[string]any { return sec["envelope"].(map[string]any) }
	flipB64 := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[0] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}

	for _, tc := range []struct {
		name   string
		sec    func() any
		key    []byte
		peer   ed25519.PublicKey
		expect error
	}{
		{name: "not an object", sec: func() any { return "sec" }, expect: ErrBadEnvelope},
		{name: "no envelope", sec: func() any { return map[string]any{"sig": "x"} }, expect: ErrBadEnvelope},
		{name: "no sig", sec: func() any { s := fresh(); delete(s, "sig"); return s }, expect: ErrBadEnvelope},
		{name: "non-string envelope value", sec: func() any { s := fresh(); env(s)["ts"] = int64(1); return s }, expect: ErrBadEnvelope},
		{name: "tampered signature", sec: func() any { s := fresh(); s["sig"] = flipB64(s["sig"].(string)); return s }, expect: ErrBadSignature},
		{name: "signed by someone else", sec: func() any { return fresh() }, peer: other.sign.Public().(ed25519.PublicKey), expect: ErrBadSignature},
		{name: "tampered ts", sec: func() any { s := fresh(); env(s)["ts"] = "2030-01-01T00:00:00"; return s }, expect: ErrBadSignature},
		{name: "tampered ciphertext", sec: func() any { s := fresh(); env(s)["ciphertext"] = flipB64(env(s)["ciphertext"].(string)); return s }, expect: ErrBadSignature},
		{name: "tampered ciphertext, re-signed", sec: func() any {
			s := fresh()
			env(s)["ciphertext"] = flipB64(env(s)["ciphertext"].(string))
			resign(s)
			return s
		}, expect: ErrDecrypt},
		{name: "tampered hash, re-signed", sec: func() any {
			s := fresh()
			env(s)["hash"] = flipB64(env(s)["hash"].(string))
			resign(s)
			return s
		}, expect: ErrDecrypt},
		{name: "wrong session key", sec: func() any { return fresh() }, key: wrongKey, expect: ErrDecrypt},
		{name: "short nonce, re-signed", sec: func() any { s := fresh(); env(s)["nonce"] = "AAAA"; resign(s); return s }, expect: ErrBadEnvelope},
		{name: "ciphertext not base64, re-signed", sec: func() any { s := fresh(); env(s)["ciphertext"] = "%%"; resign(s); return s }, expect: ErrBadEnvelope},
		{name: "missing hash, re-signed", sec: func() any { s := fresh(); delete(env(s), "hash"); resign(s); return s }, expect: ErrBadEnvelope},
		{name: "session key of wrong size", sec: func() any { return fresh() }, key: key[:16], expect: ErrBadKey},
		{name: "peer key of wrong size", sec: func() any { return fresh() }, peer: pub[:31], expect: ErrBadKey},
		{name: "hash is AAD but not the plaintext hash", sec: func() any {
			return sealWithHash(t, a.sign, key, []byte(`{"message":"x"}`), sha256.Sum256([]byte("other")))
		}, expect: ErrHashMismatch},
		{name: "plaintext is not an object", sec: func() any {
			pt := []byte(`["message"]`)
			return sealWithHash(t, a.sign, key, pt, sha256.Sum256(pt))
		}, expect: ErrBadPlaintext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, peer := key, pub
			if tc.key != nil {
				k = tc.key
			}
			if tc.peer != nil {
				peer = tc.peer
			}
			got, err := OpenSec(tc.sec(), k, peer)
			if !errors.Is(err, tc.expect) {
				t.Errorf("OpenSec = %v, %v; want %v", got, err, tc.expect)
			}
		})
	}
}

// sealWithHash builds a correctly signed envelope whose AAD is hash, which
// an honest sender would never produce.
func sealWithHash(t *testing.T, sign ed25519.PrivateKey, key, plaintext []byte, hash [32]byte) map[string]any {
	t.Helper()
	aead, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	env := map[string]any{
		"nonce":      base64.StdEncoding.EncodeToString(nonce),
		"ciphertext": base64.StdEncoding.EncodeToString(aead.Seal(nil, nonce, plaintext, hash[:])),
		"hash":       base64.StdEncoding.EncodeToString(hash[:]),
		"ts":         "2025-01-01T12:00:00",
	}
	b, _ := CanonicalJSON(env)
	return map[string]any{"envelope": env, "sig": base64.StdEncoding.EncodeToString(ed25519.Sign(sign, b))}
}

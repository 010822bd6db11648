package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

const (
	gcmNonceSize = 12
	// maxPlaintextDepth bounds nesting in a decrypted message; HSAgent
	// sends {"message": "..."}.
	maxPlaintextDepth = 32
)

// SealSec encrypts obj for the peer holding key and signs the envelope
// (spec §4.4): {"envelope": {nonce, ciphertext, hash, ts}, "sig": ...}. The
// plaintext is obj's canonical JSON, its SHA-256 is the GCM AAD.
func SealSec(obj map[string]any, key []byte, signPriv ed25519.PrivateKey, now time.Time) (map[string]any, error) {
	var nonce [gcmNonceSize]byte
	_, _ = rand.Read(nonce[:])
	return sealSec(obj, key, signPriv, now, nonce[:])
}

func sealSec(obj map[string]any, key []byte, signPriv ed25519.PrivateKey, now time.Time, nonce []byte) (map[string]any, error) {
	if len(signPriv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key", ErrBadKey)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plaintext, err := pyjson.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("sec: encode plaintext: %w", err)
	}
	hash := sha256.Sum256(plaintext)
	ct := aead.Seal(plaintext[:0], nonce, plaintext, hash[:]) // in place; Marshal left room for the tag
	env := map[string]any{
		"nonce":      base64.StdEncoding.EncodeToString(nonce),
		"ciphertext": base64.StdEncoding.EncodeToString(ct),
		"hash":       base64.StdEncoding.EncodeToString(hash[:]),
		"ts":         now.UTC().Format(TimestampLayout),
	}
	signed, err := pyjson.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sec: encode envelope: %w", err)
	}
	sig := ed25519.Sign(signPriv, signed)
	return map[string]any{"envelope": env, "sig": base64.StdEncoding.EncodeToString(sig)}, nil
}

// OpenSec verifies and decrypts a received sec object (spec §4.4). The
// signature is checked over the canonical JSON of the envelope as received,
// extra keys included, so it verifies whatever the sender signed; every
// envelope value must be a string. The envelope ts is not checked, as in the
// reference.
func OpenSec(sec any, key []byte, peerSignPub ed25519.PublicKey) (map[string]any, error) {
	outer, ok := sec.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: sec is not an object", ErrBadEnvelope)
	}
	env, ok := outer["envelope"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: envelope missing or not an object", ErrBadEnvelope)
	}
	sigB64, ok := outer["sig"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: sig missing or not a string", ErrBadEnvelope)
	}
	for k, v := range env {
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%w: envelope field %.40q is not a string", ErrBadEnvelope, k)
		}
	}
	if len(peerSignPub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: peer Ed25519 public key", ErrBadKey)
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: sig is not a base64 Ed25519 signature", ErrBadSignature)
	}
	signed, err := pyjson.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	if !ed25519.Verify(peerSignPub, signed, sig) {
		return nil, ErrBadSignature
	}
	nonce, err := envelopeBytes(env, "nonce")
	if err != nil {
		return nil, err
	}
	if len(nonce) != gcmNonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrBadEnvelope, len(nonce), gcmNonceSize)
	}
	ct, err := envelopeBytes(env, "ciphertext")
	if err != nil {
		return nil, err
	}
	hash, err := envelopeBytes(env, "hash")
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(ct[:0], nonce, ct, hash) // in place: ct is our own decoded copy
	if err != nil {
		return nil, ErrDecrypt
	}
	sum := sha256.Sum256(plaintext)
	if subtle.ConstantTimeCompare(sum[:], hash) != 1 {
		return nil, ErrHashMismatch
	}
	obj, err := pyjson.ParseObject(plaintext, maxPlaintextDepth)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPlaintext, err)
	}
	return obj, nil
}

func envelopeBytes(env map[string]any, field string) ([]byte, error) {
	s, ok := env[field].(string)
	if !ok {
		return nil, fmt.Errorf("%w: %s missing", ErrBadEnvelope, field)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrBadEnvelope, field)
	}
	return b, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != SessionKeySize {
		return nil, fmt.Errorf("%w: session key is %d bytes, want %d", ErrBadKey, len(key), SessionKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("aes-gcm: %w", err)
	}
	return aead, nil
}

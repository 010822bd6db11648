package crypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"

	"github.com/hsfleet/hsfleet/internal/benchcpu"
)

// Each Benchmark<Op> has a BenchmarkPrimitives<Op> that performs only the
// standard-library primitives <Op> is built on, so the overhead ratio is
// the quotient of the two.

type nopStore struct{}

func (nopStore) Exists(context.Context, string) (bool, error) { return false, nil }
func (nopStore) Add(context.Context, string) error            { return nil }

func BenchmarkHandshakeBuild(b *testing.B) {
	a := newParty(b)
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		BuildHandshake(HandshakeInit, "00112233445566778899aabbccddeeff", a.kx, a.sign, t0)
	}
	stop()
}

func BenchmarkPrimitivesHandshakeBuild(b *testing.B) {
	a := newParty(b)
	msg := []byte("00112233445566778899aabbccddeeff|NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=|2025-01-01T12:00:00")
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		ed25519.Sign(a.sign, msg)
	}
	stop()
}

func BenchmarkHandshakeValidate(b *testing.B) {
	a, p := newParty(b), newParty(b)
	h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
	ctx := context.Background()
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if _, err := ValidateHandshake(ctx, h, HandshakeInit, "n", nopStore{}, p.kx, t0); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// Ed25519 verify + X25519; HKDF is counted as our overhead.
func BenchmarkPrimitivesHandshakeValidate(b *testing.B) {
	a, p := newParty(b), newParty(b)
	h := BuildHandshake(HandshakeInit, "n", a.kx, a.sign, t0)
	msg, sig, pub := h.SignedBytes(), mustB64(b, h.Sig), a.sign.Public().(ed25519.PublicKey)
	peerKx := a.kx.PublicKey()
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify")
		}
		if _, err := p.kx.ECDH(peerKx); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkSecSealOpen1KiB(b *testing.B) {
	a := newParty(b)
	key := make([]byte, 32)
	obj := map[string]any{"message": strings.Repeat("x", 1024-len(`{"message":""}`))}
	pub := a.sign.Public().(ed25519.PublicKey)
	b.SetBytes(1024)
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		sec, err := SealSec(obj, key, a.sign, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := OpenSec(sec, key, pub); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// Ed25519 sign + verify of a ~200-byte envelope, AES-256-GCM seal + open of
// 1 KiB, and SHA-256 of the plaintext on both sides.
func BenchmarkPrimitivesSecSealOpen1KiB(b *testing.B) {
	a := newParty(b)
	pub := a.sign.Public().(ed25519.PublicKey)
	plaintext := make([]byte, 1024)
	env := make([]byte, 1472) // base64 of 1 KiB + 16 tag, plus the other fields
	block, _ := aes.NewCipher(make([]byte, 32))
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	b.SetBytes(1024)
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		h := sha256.Sum256(plaintext)
		ct := aead.Seal(nil, nonce, plaintext, h[:])
		sig := ed25519.Sign(a.sign, env)
		if !ed25519.Verify(pub, env, sig) {
			b.Fatal("verify")
		}
		pt, err := aead.Open(nil, nonce, ct, h[:])
		if err != nil {
			b.Fatal(err)
		}
		sha256.Sum256(pt)
	}
	stop()
}

func BenchmarkIdentityLoad(b *testing.B) {
	defer withoutKDFMemo()()
	id, err := NewIdentity("bench")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), IdentityFileName("bench"))
	if err := WriteIdentityFile(path, id, []byte("pw")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if _, err := LoadIdentityFile(path, []byte("pw")); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// scrypt(N=16384, r=8, p=1) + AES-256-GCM open of the ~300-byte plaintext.
func BenchmarkPrimitivesIdentityLoad(b *testing.B) {
	salt, nonce := make([]byte, 16), make([]byte, 12)
	pt := make([]byte, 300)
	key, err := scrypt.Key([]byte("pw"), salt, scryptN, scryptR, scryptP, 32)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	ct := aead.Seal(nil, nonce, pt, []byte(identityAAD))
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		key, err := scrypt.Key([]byte("pw"), salt, scryptN, scryptR, scryptP, 32)
		if err != nil {
			b.Fatal(err)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		if _, err := aead.Open(nil, nonce, ct, []byte(identityAAD)); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// The bare primitives on their own, for reference.

func BenchmarkPrimitiveEd25519SignVerify(b *testing.B) {
	a := newParty(b)
	pub := a.sign.Public().(ed25519.PublicKey)
	msg := make([]byte, 100)
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, ed25519.Sign(a.sign, msg)) {
			b.Fatal("verify")
		}
	}
	stop()
}

func BenchmarkPrimitiveX25519(b *testing.B) {
	a, p := newParty(b), newParty(b)
	pub := p.kx.PublicKey()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if _, err := a.kx.ECDH(pub); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkPrimitiveAESGCMSealOpen1KiB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 32))
	aead, _ := cipher.NewGCM(block)
	nonce, pt, ad := make([]byte, 12), make([]byte, 1024), make([]byte, 32)
	b.SetBytes(1024)
	stop := benchcpu.Measure(b)
	for b.Loop() {
		ct := aead.Seal(nil, nonce, pt, ad)
		if _, err := aead.Open(nil, nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

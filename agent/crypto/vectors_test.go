package crypto

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/scrypt"
)

// vectors mirrors testdata/vectors.json, a copy of the spec's vectors
// computed with the Python reference (pyca/cryptography).
type vectors struct {
	ASignSeedHex   string            `json:"A.sign_seed_hex"`
	AKxPrivHex     string            `json:"A.kx_priv_hex"`
	BSignSeedHex   string            `json:"B.sign_seed_hex"`
	BKxPrivHex     string            `json:"B.kx_priv_hex"`
	ASignPubB64    string            `json:"A.sign_pub_b64"`
	AKxPubB64      string            `json:"A.kx_pub_b64"`
	BSignPubB64    string            `json:"B.sign_pub_b64"`
	BKxPubB64      string            `json:"B.kx_pub_b64"`
	SharedHex      string            `json:"x25519_shared_hex"`
	SymKeyHex      string            `json:"hkdf_sym_key_hex"`
	HSSignedBytes  string            `json:"hs.signed_bytes"`
	HS             Handshake         `json:"hs"`
	SecPlaintext   string            `json:"sec.plaintext"`
	SecSigned      string            `json:"sec.envelope_signed_bytes"`
	Sec            secVector         `json:"sec"`
	ScryptKeyHex   string            `json:"identity.scrypt_key_hex"`
	IdentityPlain  string            `json:"identity.plaintext"`
	IdentityFile   map[string]string `json:"identity.file"`
	WireClientLine string            `json:"wire.client_line"`
}

type secVector struct {
	Envelope map[string]string `json:"envelope"`
	Sig      string            `json:"sig"`
}

type party struct {
	sign ed25519.PrivateKey
	kx   *ecdh.PrivateKey
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParty(t testing.TB, seedHex, kxHex string) party {
	t.Helper()
	kx, err := ecdh.X25519().NewPrivateKey(mustHex(t, kxHex))
	if err != nil {
		t.Fatal(err)
	}
	return party{sign: ed25519.NewKeyFromSeed(mustHex(t, seedHex)), kx: kx}
}

func TestVectorPublicKeysMatchReference(t *testing.T) {
	v := loadVectors(t)
	a := mustParty(t, v.ASignSeedHex, v.AKxPrivHex)
	b := mustParty(t, v.BSignSeedHex, v.BKxPrivHex)
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"A sign pub", a.sign.Public().(ed25519.PublicKey), v.ASignPubB64},
		{"A kx pub", a.kx.PublicKey().Bytes(), v.AKxPubB64},
		{"B sign pub", b.sign.Public().(ed25519.PublicKey), v.BSignPubB64},
		{"B kx pub", b.kx.PublicKey().Bytes(), v.BKxPubB64},
	} {
		if got := base64.StdEncoding.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestVectorSessionKeyIsSameFromBothSides(t *testing.T) {
	v := loadVectors(t)
	a := mustParty(t, v.ASignSeedHex, v.AKxPrivHex)
	b := mustParty(t, v.BSignSeedHex, v.BKxPrivHex)

	shared, err := a.kx.ECDH(b.kx.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(shared); got != v.SharedHex {
		t.Errorf("X25519 shared = %s, want %s", got, v.SharedHex)
	}
	for name, key := range map[string]func() ([]byte, error){
		"A with B's pub": func() ([]byte, error) { return SessionKey(a.kx, b.kx.PublicKey().Bytes()) },
		"B with A's pub": func() ([]byte, error) { return SessionKey(b.kx, a.kx.PublicKey().Bytes()) },
	} {
		k, err := key()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := hex.EncodeToString(k); got != v.SymKeyHex {
			t.Errorf("%s: HKDF key = %s, want %s", name, got, v.SymKeyHex)
		}
	}
}

func TestVectorHandshakeBuildIsByteIdentical(t *testing.T) {
	v := loadVectors(t)
	a := mustParty(t, v.ASignSeedHex, v.AKxPrivHex)
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

	h := BuildHandshake(v.HS.Type, v.HS.Nonce, a.kx, a.sign, now)
	if got := string(h.SignedBytes()); got != v.HSSignedBytes {
		t.Errorf("signed bytes = %q, want %q", got, v.HSSignedBytes)
	}
	if h != v.HS {
		t.Errorf("hs = %+v\nwant %+v", h, v.HS)
	}
}

func TestVectorHandshakeValidatesAndDerivesKey(t *testing.T) {
	v := loadVectors(t)
	b := mustParty(t, v.BSignSeedHex, v.BKxPrivHex)
	store := newMemStore()
	now := time.Date(2025, 1, 1, 12, 0, 30, 0, time.UTC)

	res, err := ValidateHandshake(context.Background(), v.HS, "init", v.HS.Nonce, store, b.kx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(res.SessionKey); got != v.SymKeyHex {
		t.Errorf("session key = %s, want %s", got, v.SymKeyHex)
	}
	if got := base64.StdEncoding.EncodeToString(res.PeerSignPub); got != v.ASignPubB64 {
		t.Errorf("peer sign pub = %s, want %s", got, v.ASignPubB64)
	}
	if got := base64.StdEncoding.EncodeToString(res.PeerKxPub); got != v.AKxPubB64 {
		t.Errorf("peer kx pub = %s, want %s", got, v.AKxPubB64)
	}
	if !store.seen[v.HS.Nonce] {
		t.Error("nonce was not recorded in the store")
	}
}

func TestVectorSecSealIsByteIdentical(t *testing.T) {
	v := loadVectors(t)
	a := mustParty(t, v.ASignSeedHex, v.AKxPrivHex)
	key := mustHex(t, v.SymKeyHex)
	nonce := mustB64(t, v.Sec.Envelope["nonce"])
	now := time.Date(2025, 1, 1, 12, 0, 1, 0, time.UTC)

	sec, err := sealSec(map[string]any{"message": "How are you?"}, key, a.sign, now, nonce)
	if err != nil {
		t.Fatal(err)
	}
	env := sec["envelope"].(map[string]any)
	for k, want := range v.Sec.Envelope {
		if env[k] != want {
			t.Errorf("envelope[%s] = %v, want %s", k, env[k], want)
		}
	}
	if len(env) != len(v.Sec.Envelope) {
		t.Errorf("envelope has %d keys, want %d", len(env), len(v.Sec.Envelope))
	}
	signed, err := CanonicalJSON(env)
	if err != nil {
		t.Fatal(err)
	}
	if string(signed) != v.SecSigned {
		t.Errorf("signed bytes = %s\nwant %s", signed, v.SecSigned)
	}
	if sec["sig"] != v.Sec.Sig {
		t.Errorf("sig = %v, want %s", sec["sig"], v.Sec.Sig)
	}
	plain, err := CanonicalJSON(map[string]any{"message": "How are you?"})
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != v.SecPlaintext {
		t.Errorf("plaintext = %s, want %s", plain, v.SecPlaintext)
	}
}

func TestVectorSecOpensReferenceEnvelope(t *testing.T) {
	v := loadVectors(t)
	key := mustHex(t, v.SymKeyHex)
	env := map[string]any{}
	for k, s := range v.Sec.Envelope {
		env[k] = s
	}
	obj, err := OpenSec(map[string]any{"envelope": env, "sig": v.Sec.Sig}, key, mustB64(t, v.ASignPubB64))
	if err != nil {
		t.Fatal(err)
	}
	if obj["message"] != "How are you?" || len(obj) != 1 {
		t.Errorf("opened %v, want {message: How are you?}", obj)
	}
}

func TestVectorScryptKey(t *testing.T) {
	v := loadVectors(t)
	salt := mustB64(t, v.IdentityFile["salt"])
	key, err := scrypt.Key(DefaultPassphrase("alice"), salt, scryptN, scryptR, scryptP, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(key); got != v.ScryptKeyHex {
		t.Errorf("scrypt key = %s, want %s", got, v.ScryptKeyHex)
	}
}

func TestVectorIdentityFileOpensAndResealsIdentically(t *testing.T) {
	v := loadVectors(t)
	file, err := json.Marshal(v.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	id, err := OpenIdentity(file, DefaultPassphrase("alice"))
	if err != nil {
		t.Fatal(err)
	}
	a := mustParty(t, v.ASignSeedHex, v.AKxPrivHex)
	if id.ID != "00000000-0000-4000-8000-000000000001" {
		t.Errorf("ID = %q", id.ID)
	}
	if !bytes.Equal(id.SignPriv, a.sign) || !bytes.Equal(id.KxPriv.Bytes(), a.kx.Bytes()) {
		t.Error("decrypted private keys differ from the vector keys")
	}
	if want := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); !id.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", id.CreatedAt, want)
	}

	// Sealing with the vector's salt and nonce must give the same file.
	sealed, err := sealIdentity(id, DefaultPassphrase("alice"), mustB64(t, v.IdentityFile["salt"]), mustB64(t, v.IdentityFile["nonce"]))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(sealed, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range v.IdentityFile {
		if got[k] != want {
			t.Errorf("file[%s] = %s\nwant %s", k, got[k], want)
		}
	}
}

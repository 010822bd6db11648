package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/scrypt"
)

// The id.v1 file format (spec §4.5).
const (
	identityVersion = "id.v1"
	identityKDF     = "scrypt"
	identityAAD     = "HSAgent.identity.v1"
	scryptN         = 1 << 14
	scryptR         = 8
	scryptP         = 1
	saltSize        = 16
	// MaxIdentityFileSize bounds what LoadIdentityFile reads; a real file is
	// about 700 bytes.
	MaxIdentityFileSize = 64 << 10
	createdAtLayout     = "2006-01-02T15:04:05+00:00"
	maxIDLength         = 128
)

// identityDoc is the file on disk; field order matches the reference.
type identityDoc struct {
	V          string `json:"v"`
	KDF        string `json:"kdf"`
	Salt       string `json:"salt"`
	Nonce      string `json:"nonce"`
	AAD        string `json:"aad"`
	Ciphertext string `json:"ciphertext"`
}

// identityPlain is the decrypted document; json tags match the reference.
type identityPlain struct {
	CreatedAt   string `json:"created_at"`
	KxPrivB64   string `json:"kx_priv_b64"`
	KxPubB64    string `json:"kx_pub_b64"`
	MyID        string `json:"my_id"`
	SignPrivB64 string `json:"sign_priv_b64"`
	SignPubB64  string `json:"sign_pub_b64"`
}

// SealIdentity encrypts id into the id.v1 JSON document that HSAgent_1
// reads: scrypt(N=16384, r=8, p=1) of the passphrase keys AES-256-GCM over
// the canonical plaintext. The name is not stored (the reference keeps it in
// the file name).
func SealIdentity(id *Identity, passphrase []byte) ([]byte, error) {
	var salt [saltSize]byte
	var nonce [gcmNonceSize]byte
	_, _ = rand.Read(salt[:])
	_, _ = rand.Read(nonce[:])
	return sealIdentity(id, passphrase, salt[:], nonce[:])
}

func sealIdentity(id *Identity, passphrase, salt, nonce []byte) ([]byte, error) {
	if id == nil || id.KxPriv == nil || len(id.SignPriv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: identity has no keys", ErrBadKey)
	}
	if err := validateID(id.ID); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrIdentityPassphrase)
	}
	b64 := base64.StdEncoding.EncodeToString
	plain, err := CanonicalJSON(map[string]any{
		"created_at":    id.CreatedAt.UTC().Format(createdAtLayout),
		"kx_priv_b64":   b64(id.KxPriv.Bytes()),
		"kx_pub_b64":    b64(id.KxPub()),
		"my_id":         id.ID,
		"sign_priv_b64": b64(id.SignPriv.Seed()),
		"sign_pub_b64":  b64(id.SignPub()),
	})
	if err != nil {
		return nil, fmt.Errorf("identity: encode: %w", err)
	}
	aead, err := identityAEAD(passphrase, salt)
	if err != nil {
		return nil, err
	}
	doc := identityDoc{
		V:          identityVersion,
		KDF:        identityKDF,
		Salt:       b64(salt),
		Nonce:      b64(nonce),
		AAD:        b64([]byte(identityAAD)),
		Ciphertext: b64(aead.Seal(nil, nonce, plain, []byte(identityAAD))),
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("identity: encode file: %w", err)
	}
	return out, nil
}

// OpenIdentity decrypts an id.v1 document. Like the reference it uses the
// AAD stored in the file. The public keys, when present, must match the
// private ones. Name is left empty: it lives in the file name.
func OpenIdentity(data, passphrase []byte) (*Identity, error) {
	if len(data) > MaxIdentityFileSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrIdentityTooLarge, len(data))
	}
	var doc identityDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentityFormat, err)
	}
	if doc.V != identityVersion || doc.KDF != identityKDF {
		return nil, fmt.Errorf("%w: v=%.20q kdf=%.20q, want %q and %q", ErrIdentityVersion, doc.V, doc.KDF, identityVersion, identityKDF)
	}
	salt, err1 := base64.StdEncoding.DecodeString(doc.Salt)
	nonce, err2 := base64.StdEncoding.DecodeString(doc.Nonce)
	aad, err3 := base64.StdEncoding.DecodeString(doc.AAD)
	ct, err4 := base64.StdEncoding.DecodeString(doc.Ciphertext)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentityFormat, err)
	}
	if len(nonce) != gcmNonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrIdentityFormat, len(nonce), gcmNonceSize)
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrIdentityPassphrase)
	}
	aead, err := identityAEAD(passphrase, salt)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, ErrIdentityDecrypt
	}
	defer clear(plain)
	var p identityPlain
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%w: plaintext: %v", ErrIdentityFormat, err)
	}
	return identityFromPlain(p)
}

func identityFromPlain(p identityPlain) (*Identity, error) {
	if err := validateID(p.MyID); err != nil {
		return nil, err
	}
	seed, err := decodeKey(p.SignPrivB64, "sign_priv_b64", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer clear(seed)
	kxRaw, err := decodeKey(p.KxPrivB64, "kx_priv_b64", 32)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer clear(kxRaw)
	kxPriv, err := ecdh.X25519().NewPrivateKey(kxRaw)
	if err != nil {
		return nil, fmt.Errorf("identity: %w: %v", ErrBadKey, err)
	}
	id := &Identity{ID: p.MyID, SignPriv: ed25519.NewKeyFromSeed(seed), KxPriv: kxPriv}
	if err := checkPublic(p.SignPubB64, "sign_pub_b64", id.SignPub()); err != nil {
		return nil, err
	}
	if err := checkPublic(p.KxPubB64, "kx_pub_b64", id.KxPub()); err != nil {
		return nil, err
	}
	// created_at is informational (the reference never reads it back).
	if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil {
		id.CreatedAt = t.UTC()
	}
	return id, nil
}

func checkPublic(b64, field string, derived []byte) error {
	if b64 == "" {
		return nil
	}
	stored, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || subtle.ConstantTimeCompare(stored, derived) != 1 {
		return fmt.Errorf("%w: %s does not match the private key", ErrIdentityFormat, field)
	}
	return nil
}

// validateID accepts what HSAgent_1 generates (a uuid4) and any other short
// printable ASCII ID; the ID ends up in database keys, labels and logs.
func validateID(id string) error {
	if id == "" || len(id) > maxIDLength {
		return fmt.Errorf("%w: my_id must be 1-%d characters", ErrIdentityFormat, maxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] >= 0x7f {
			return fmt.Errorf("%w: my_id has a non-printable or non-ASCII byte", ErrIdentityFormat)
		}
	}
	return nil
}

// deriveIdentityKey is scrypt with the id.v1 parameters. It is a variable
// only so tests can memoize it: each call costs ~50 ms (~1 s under -race).
var deriveIdentityKey = func(passphrase, salt []byte) ([]byte, error) {
	return scrypt.Key(passphrase, salt, scryptN, scryptR, scryptP, 32)
}

func identityAEAD(passphrase, salt []byte) (cipher.AEAD, error) {
	key, err := deriveIdentityKey(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("identity: scrypt: %w", err)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return cipher.NewGCM(block)
}

// LoadIdentityFile reads and opens an identity file. When the file is named
// id_agent_<name>.json, Name is set from it.
func LoadIdentityFile(path string, passphrase []byte) (*Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxIdentityFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("identity: read %s: %w", path, err)
	}
	id, err := OpenIdentity(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	id.Name = NameFromFileName(path)
	return id, nil
}

// NameFromFileName returns <name> for a path ending in id_agent_<name>.json,
// or "".
func NameFromFileName(path string) string {
	base := filepath.Base(path)
	name, ok := strings.CutPrefix(base, "id_agent_")
	if !ok {
		return ""
	}
	name, ok = strings.CutSuffix(name, ".json")
	if !ok || ValidateName(name) != nil {
		return ""
	}
	return name
}

// WriteIdentityFile seals id and atomically replaces path with it, mode 0600.
func WriteIdentityFile(path string, id *Identity, passphrase []byte) error {
	return writeIdentity(path, id, passphrase, true)
}

// CreateIdentityFile is WriteIdentityFile that fails with an error matching
// fs.ErrExist instead of replacing an existing file.
func CreateIdentityFile(path string, id *Identity, passphrase []byte) error {
	return writeIdentity(path, id, passphrase, false)
}

func writeIdentity(path string, id *Identity, passphrase []byte, replace bool) error {
	data, err := SealIdentity(id, passphrase)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".id_agent-*.tmp") // created 0600
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op once renamed or linked away
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: sync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("identity: close %s: %w", tmpName, err)
	}
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		// link(2) fails if path exists, so no window where an existing
		// identity could be clobbered.
		err = os.Link(tmpName, path)
	}
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // persist the new directory entry
		d.Close()
	}
	return nil
}

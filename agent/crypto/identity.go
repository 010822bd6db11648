package crypto

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"regexp"
	"time"
)

// Identity is an agent's long-term identity: a stable ID and its Ed25519
// (signing) and X25519 (key exchange) key pairs.
type Identity struct {
	ID        string
	Name      string
	SignPriv  ed25519.PrivateKey
	KxPriv    *ecdh.PrivateKey
	CreatedAt time.Time
}

// SignPub is the raw 32-byte Ed25519 public key.
func (id *Identity) SignPub() ed25519.PublicKey {
	return id.SignPriv.Public().(ed25519.PublicKey)
}

// KxPub is the raw 32-byte X25519 public key.
func (id *Identity) KxPub() []byte {
	return id.KxPriv.PublicKey().Bytes()
}

// NewIdentity creates an identity with a fresh uuid4 ID and fresh keys.
func NewIdentity(name string) (*Identity, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	id := &Identity{ID: newUUID4(), Name: name}
	if err := id.generateKeys(); err != nil {
		return nil, err
	}
	return id, nil
}

// Rotate returns a copy of id with the same ID and name and new key pairs.
func (id *Identity) Rotate() (*Identity, error) {
	next := &Identity{ID: id.ID, Name: id.Name}
	if err := next.generateKeys(); err != nil {
		return nil, err
	}
	return next, nil
}

func (id *Identity) generateKeys() error {
	_, signPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate Ed25519 key: %w", err)
	}
	kxPriv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate X25519 key: %w", err)
	}
	id.SignPriv, id.KxPriv = signPriv, kxPriv
	id.CreatedAt = time.Now().UTC().Truncate(time.Second)
	return nil
}

// nameRE keeps a name usable in a file name (id_agent_<name>.json) and as a
// Kubernetes object name part.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

// ValidateName reports whether name can name an identity.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %.60q (want 1-253 of [A-Za-z0-9._-], starting alphanumeric)", ErrIdentityName, name)
	}
	return nil
}

// IdentityFileName is the reference's file name for an agent's identity.
func IdentityFileName(name string) string {
	return "id_agent_" + name + ".json"
}

// DefaultPassphrase is the reference's passphrase rule, "my_id_pw_<name>".
// It is derivable from the name, so it protects nothing; use it only to read
// and write files a Python HSAgent_1 must also open.
func DefaultPassphrase(name string) []byte {
	return []byte("my_id_pw_" + name)
}

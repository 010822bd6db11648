package crypto

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// SessionKeySize is the AES-256 key length.
const SessionKeySize = 32

const hkdfInfo = "handshake"

// SessionKey derives the pair's AES-256-GCM key: X25519(kxPriv, peerKxPub),
// then HKDF-SHA256 with no salt and info "handshake". A low-order peer key
// (all-zero shared secret) is ErrLowOrder; the reference does not check.
func SessionKey(kxPriv *ecdh.PrivateKey, peerKxPub []byte) ([]byte, error) {
	if kxPriv == nil {
		return nil, fmt.Errorf("%w: no X25519 private key", ErrBadKey)
	}
	pub, err := ecdh.X25519().NewPublicKey(peerKxPub)
	if err != nil {
		return nil, fmt.Errorf("%w: peer X25519 key: %v", ErrBadKey, err)
	}
	shared, err := kxPriv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLowOrder, err)
	}
	key, err := hkdf.Key(sha256.New, shared, nil, hkdfInfo, SessionKeySize)
	if err != nil {
		return nil, fmt.Errorf("hkdf: %w", err)
	}
	return key, nil
}

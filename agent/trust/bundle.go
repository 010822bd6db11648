package trust

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxBundleSize bounds a bundle file: 1 MiB is ~10,000 agents, and a
// ConfigMap cannot hold more anyway.
const MaxBundleSize = 1 << 20

// ErrBadBundle: the bundle file is not a JSON object of agent ID → base64
// raw 32-byte Ed25519 public key.
var ErrBadBundle = errors.New("trust: malformed bundle")

// Bundle maps agent IDs to their Ed25519 public keys.
type Bundle map[string]ed25519.PublicKey

// ParseBundle reads the bundle format {"<agentID>": "<base64 key>", ...}.
// One bad entry fails the whole bundle: a half-read bundle would silently
// drop peers.
func ParseBundle(data []byte) (Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadBundle, len(data), MaxBundleSize)
	}
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadBundle)
	}
	b := make(Bundle, len(raw))
	for id, k := range raw {
		if id == "" {
			return nil, fmt.Errorf("%w: empty agent ID", ErrBadBundle)
		}
		pub, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: key of %.64q is not a base64 32-byte Ed25519 key", ErrBadBundle, id)
		}
		b[id] = ed25519.PublicKey(pub)
	}
	return b, nil
}

// Marshal renders the bundle in its file format.
func (b Bundle) Marshal() ([]byte, error) {
	raw := make(map[string]string, len(b))
	for id, k := range b {
		raw[id] = base64.StdEncoding.EncodeToString(k)
	}
	return json.Marshal(raw)
}

// LoadBundle reads and parses a bundle file.
func LoadBundle(path string) (Bundle, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	b, err := ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("trust bundle: read %s: %w", path, err)
	}
	return data, nil
}

package trust

import (
	"bytes"
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

// ErrBadBundle: the bundle file is not a JSON object of agent ID → entry,
// where an entry is a base64 raw 32-byte Ed25519 public key (string form)
// or {"key": "<base64>", "caps": ["bind1", ...]} (object form).
var ErrBadBundle = errors.New("trust: malformed bundle")

// Bundle maps agent IDs to their Ed25519 public keys.
type Bundle map[string]ed25519.PublicKey

// ParseBundle reads a bundle in either entry form and returns its keys;
// ParseBundleCaps also returns the caps.
func ParseBundle(data []byte) (Bundle, error) {
	b, _, err := ParseBundleCaps(data)
	return b, err
}

// ParseBundleCaps reads the bundle format
//
//	{"<agentID>": "<base64 key>", "<agentID>": {"key": "<base64 key>", "caps": ["bind1"]}, ...}
//
// Both entry forms may be mixed: the operator writes the object form for
// the agents it runs, Python agents added by hand stay strings (no caps).
// In the object form "key" is required, "caps" optional (absent or null
// means none) and other keys are ignored, so later fields do not break
// older agents. One bad entry fails the whole bundle: a half-read bundle
// would silently drop peers.
func ParseBundleCaps(data []byte) (Bundle, Caps, error) {
	if len(data) > MaxBundleSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadBundle, len(data), MaxBundleSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	if raw == nil {
		return nil, nil, fmt.Errorf("%w: not a JSON object", ErrBadBundle)
	}
	b, caps := make(Bundle, len(raw)), Caps{}
	for id, entry := range raw {
		if id == "" {
			return nil, nil, fmt.Errorf("%w: empty agent ID", ErrBadBundle)
		}
		key, cs, err := parseEntry(id, entry)
		if err != nil {
			return nil, nil, err
		}
		b[id] = key
		if len(cs) > 0 {
			caps[id] = cs
		}
	}
	return b, caps, nil
}

// parseEntry reads one value: a key string or an object with "key" and
// optional "caps". Object keys match exactly (encoding/json's struct
// decoding would also take "Key" or "KEY").
func parseEntry(id string, entry json.RawMessage) (ed25519.PublicKey, []Cap, error) {
	var keyB64 string
	var rawCaps []string
	switch entry = bytes.TrimLeft(entry, " \t\r\n"); {
	case len(entry) > 0 && entry[0] == '"':
		if err := json.Unmarshal(entry, &keyB64); err != nil {
			return nil, nil, fmt.Errorf("%w: key of %.64q: %w", ErrBadBundle, id, err)
		}
	case len(entry) > 0 && entry[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(entry, &obj); err != nil {
			return nil, nil, fmt.Errorf("%w: entry of %.64q: %w", ErrBadBundle, id, err)
		}
		k, ok := obj["key"]
		if !ok || json.Unmarshal(k, &keyB64) != nil {
			return nil, nil, fmt.Errorf("%w: entry of %.64q has no \"key\" string", ErrBadBundle, id)
		}
		if c, ok := obj["caps"]; ok {
			if err := json.Unmarshal(c, &rawCaps); err != nil {
				return nil, nil, fmt.Errorf("%w: caps of %.64q is not a list of strings", ErrBadBundle, id)
			}
		}
	default:
		return nil, nil, fmt.Errorf("%w: entry of %.64q is neither a key string nor an object", ErrBadBundle, id)
	}
	pub, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("%w: key of %.64q is not a base64 32-byte Ed25519 key", ErrBadBundle, id)
	}
	caps, err := parseCaps(id, rawCaps)
	if err != nil {
		return nil, nil, err
	}
	return ed25519.PublicKey(pub), caps, nil
}

// bundleEntry is the object form of one entry.
type bundleEntry struct {
	Key  string `json:"key"`
	Caps []Cap  `json:"caps"`
}

// Marshal renders the bundle in the string form (no caps).
func (b Bundle) Marshal() ([]byte, error) {
	return b.MarshalCaps(nil)
}

// MarshalCaps renders the bundle: agents with caps in the object form,
// the others in the string form. Keys are sorted (encoding/json sorts map
// keys), so equal bundles give equal bytes.
func (b Bundle) MarshalCaps(caps Caps) ([]byte, error) {
	raw := make(map[string]any, len(b))
	for id, k := range b {
		key := base64.StdEncoding.EncodeToString(k)
		if cs := caps[id]; len(cs) > 0 {
			raw[id] = bundleEntry{Key: key, Caps: cs}
		} else {
			raw[id] = key
		}
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

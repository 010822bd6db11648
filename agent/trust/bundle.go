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
// or {"key": "<base64>", "caps": ["bind1", ...], "keys": ["<base64>", ...]}
// (object form; "keys" lists more accepted keys during a rotation).
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
// would silently drop peers. The rotation keys ("keys") are read and
// checked but not returned; ParseBundleKeys returns them.
func ParseBundleCaps(data []byte) (Bundle, Caps, error) {
	b, caps, _, err := ParseBundleKeys(data)
	return b, caps, err
}

// ParseBundleKeys is ParseBundleCaps that also returns the keys each
// entry accepts besides its primary one (the object form's "keys", the
// overlap of a key rotation; docs/rotation.md).
func ParseBundleKeys(data []byte) (Bundle, Caps, ExtraKeys, error) {
	if len(data) > MaxBundleSize {
		return nil, nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadBundle, len(data), MaxBundleSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	if raw == nil {
		return nil, nil, nil, fmt.Errorf("%w: not a JSON object", ErrBadBundle)
	}
	b, caps, extra := make(Bundle, len(raw)), Caps{}, ExtraKeys{}
	for id, entry := range raw {
		if id == "" {
			return nil, nil, nil, fmt.Errorf("%w: empty agent ID", ErrBadBundle)
		}
		e, err := parseEntry(id, entry)
		if err != nil {
			return nil, nil, nil, err
		}
		b[id] = e.key
		if len(e.caps) > 0 {
			caps[id] = e.caps
		}
		if len(e.extra) > 0 {
			extra[id] = e.extra
		}
	}
	return b, caps, extra, nil
}

// parsedEntry is one bundle value, checked.
type parsedEntry struct {
	key   ed25519.PublicKey
	caps  []Cap
	extra []ed25519.PublicKey
}

// parseEntry reads one value: a key string or an object with "key" and
// optional "caps" and "keys". Object keys match exactly (encoding/json's
// struct decoding would also take "Key" or "KEY").
func parseEntry(id string, entry json.RawMessage) (parsedEntry, error) {
	var keyB64 string
	var rawCaps, rawKeys []string
	switch entry = bytes.TrimLeft(entry, " \t\r\n"); {
	case len(entry) > 0 && entry[0] == '"':
		if err := json.Unmarshal(entry, &keyB64); err != nil {
			return parsedEntry{}, fmt.Errorf("%w: key of %.64q: %w", ErrBadBundle, id, err)
		}
	case len(entry) > 0 && entry[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(entry, &obj); err != nil {
			return parsedEntry{}, fmt.Errorf("%w: entry of %.64q: %w", ErrBadBundle, id, err)
		}
		k, ok := obj["key"]
		if !ok || json.Unmarshal(k, &keyB64) != nil {
			return parsedEntry{}, fmt.Errorf("%w: entry of %.64q has no \"key\" string", ErrBadBundle, id)
		}
		if c, ok := obj["caps"]; ok {
			if err := json.Unmarshal(c, &rawCaps); err != nil {
				return parsedEntry{}, fmt.Errorf("%w: caps of %.64q is not a list of strings", ErrBadBundle, id)
			}
		}
		if c, ok := obj["keys"]; ok {
			if err := json.Unmarshal(c, &rawKeys); err != nil {
				return parsedEntry{}, fmt.Errorf("%w: keys of %.64q is not a list of strings", ErrBadBundle, id)
			}
		}
	default:
		return parsedEntry{}, fmt.Errorf("%w: entry of %.64q is neither a key string nor an object", ErrBadBundle, id)
	}
	pub, err := decodeKey(keyB64)
	if err != nil {
		return parsedEntry{}, fmt.Errorf("%w: key of %.64q is not a base64 32-byte Ed25519 key", ErrBadBundle, id)
	}
	caps, err := parseCaps(id, rawCaps)
	if err != nil {
		return parsedEntry{}, err
	}
	extra, err := parseExtraKeys(id, pub, rawKeys)
	if err != nil {
		return parsedEntry{}, err
	}
	return parsedEntry{key: pub, caps: caps, extra: extra}, nil
}

func decodeKey(b64 string) (ed25519.PublicKey, error) {
	pub, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%d bytes", len(pub))
	}
	return ed25519.PublicKey(pub), nil
}

// bundleEntry is the object form of one entry.
type bundleEntry struct {
	Key  string   `json:"key"`
	Caps []Cap    `json:"caps,omitempty"`
	Keys []string `json:"keys,omitempty"`
}

// Marshal renders the bundle in the string form (no caps).
func (b Bundle) Marshal() ([]byte, error) {
	return b.MarshalCaps(nil)
}

// MarshalCaps renders the bundle: agents with caps in the object form,
// the others in the string form. Keys are sorted (encoding/json sorts map
// keys), so equal bundles give equal bytes.
func (b Bundle) MarshalCaps(caps Caps) ([]byte, error) {
	return b.MarshalKeys(caps, nil)
}

// MarshalKeys is MarshalCaps that also writes each agent's extra accepted
// keys (the object form's "keys"); an agent with neither caps nor extra
// keys stays in the string form.
func (b Bundle) MarshalKeys(caps Caps, extra ExtraKeys) ([]byte, error) {
	raw := make(map[string]any, len(b))
	for id, k := range b {
		key := base64.StdEncoding.EncodeToString(k)
		cs, more := caps[id], extra.others(id, k)
		if len(cs) == 0 && len(more) == 0 {
			raw[id] = key
			continue
		}
		e := bundleEntry{Key: key, Caps: cs}
		for _, m := range more {
			e.Keys = append(e.Keys, base64.StdEncoding.EncodeToString(m))
		}
		raw[id] = e
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

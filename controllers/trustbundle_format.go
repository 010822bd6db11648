package controllers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// maxTrustBundleSize stays under the 1 MiB ConfigMap limit; a bundle entry
// is about 90 bytes, so this holds ~10k agents.
const maxTrustBundleSize = 900 << 10

var errTrustBundleFormat = errors.New("trust bundle is not a JSON object of agent ID to base64 Ed25519 key")

// agentIDPattern accepts the lowercase uuid4 IDs the operator generates and
// the reference's; kept loose enough for imported identities, tight enough
// to keep junk out of every agent's trust file.
var agentIDPattern = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z-]{0,127}$`)

// trustBundle maps agent ID to its base64 (standard, padded) Ed25519 public key.
type trustBundle map[string]string

// parseTrustBundle decodes the ConfigMap content. The ConfigMap is writable
// by anyone with namespace edit rights, so every entry is checked; malformed
// entries are dropped and counted in the second result.
func parseTrustBundle(data string) (trustBundle, int, error) {
	if data == "" {
		return trustBundle{}, 0, nil
	}
	if len(data) > maxTrustBundleSize {
		return nil, 0, fmt.Errorf("%w: %d bytes exceeds %d", errTrustBundleFormat, len(data), maxTrustBundleSize)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errTrustBundleFormat, err)
	}
	b := make(trustBundle, len(raw))
	dropped := 0
	for id, v := range raw {
		key, ok := v.(string)
		if !ok || validateBundleEntry(id, key) != nil {
			dropped++
			continue
		}
		b[id] = key
	}
	return b, dropped, nil
}

// validateBundleEntry checks one agent ID and key.
func validateBundleEntry(id, signPub string) error {
	if !agentIDPattern.MatchString(id) {
		return fmt.Errorf("invalid agent ID %.40q", id)
	}
	raw, err := base64.StdEncoding.DecodeString(signPub)
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("agent %s: sign key is not base64 of 32 bytes", id)
	}
	return nil
}

// encode renders the bundle with sorted keys (encoding/json sorts map keys),
// so equal bundles are byte-identical and unchanged bundles are not rewritten.
func (b trustBundle) encode() (string, error) {
	out, err := json.Marshal(map[string]string(b))
	if err != nil {
		return "", fmt.Errorf("encode trust bundle: %w", err)
	}
	return string(out), nil
}

// set records id's key and reports whether the bundle changed.
func (b trustBundle) set(id, signPub string) bool {
	if b[id] == signPub {
		return false
	}
	b[id] = signPub
	return true
}

// remove drops id and reports whether the bundle changed.
func (b trustBundle) remove(id string) bool {
	if _, ok := b[id]; !ok {
		return false
	}
	delete(b, id)
	return true
}

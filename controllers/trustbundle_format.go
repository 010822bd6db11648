package controllers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// maxTrustBundleSize stays under the 1 MiB ConfigMap limit; a bundle entry
// is about 90 bytes, so this holds ~10k agents.
const maxTrustBundleSize = 900 << 10

var errTrustBundleFormat = errors.New("trust bundle is not a JSON object of agent ID to base64 Ed25519 key or {\"key\", \"keys\"} entry")

// agentIDPattern accepts the lowercase uuid4 IDs the operator generates and
// the reference's; kept loose enough for imported identities, tight enough
// to keep junk out of every agent's trust file.
var agentIDPattern = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z-]{0,127}$`)

// trustBundle maps agent ID to its primary base64 (standard, padded)
// Ed25519 public key: the key the agent signs with now.
type trustBundle map[string]string

// bundleDoc is the whole ConfigMap content: every agent's primary key and,
// for agents in a key rotation, the other keys peers must accept meanwhile
// (docs/rotation.md). Only rotating entries are written in the object form
// {"key": primary, "keys": [others]}; every other entry stays a string, the
// form agents of any version read.
type bundleDoc struct {
	keys trustBundle
	// overlap: agent ID → its other accepted keys, never the primary, at
	// most trust.MaxExtraKeys. Slices are replaced, never modified.
	overlap map[string][]string
}

func newBundleDoc() bundleDoc { return bundleDoc{keys: trustBundle{}, overlap: map[string][]string{}} }

// parseTrustBundle decodes the ConfigMap content into primary keys. The
// ConfigMap is writable by anyone with namespace edit rights, so every
// entry is checked; malformed entries are dropped and counted in the
// second result.
func parseTrustBundle(data string) (trustBundle, int, error) {
	d, dropped, err := parseTrustBundleDoc(data)
	return d.keys, dropped, err
}

// parseTrustBundleDoc is parseTrustBundle that keeps the rotation overlap.
// An entry is a key string or an object with a "key" string and an
// optional "keys" list (other fields, such as caps, are ignored); a bad key
// anywhere in an entry drops the whole entry.
func parseTrustBundleDoc(data string) (bundleDoc, int, error) {
	if data == "" {
		return newBundleDoc(), 0, nil
	}
	if len(data) > maxTrustBundleSize {
		return bundleDoc{}, 0, fmt.Errorf("%w: %d bytes exceeds %d", errTrustBundleFormat, len(data), maxTrustBundleSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return bundleDoc{}, 0, fmt.Errorf("%w: %v", errTrustBundleFormat, err)
	}
	if raw == nil {
		return bundleDoc{}, 0, fmt.Errorf("%w: not a JSON object", errTrustBundleFormat)
	}
	d := bundleDoc{keys: make(trustBundle, len(raw)), overlap: map[string][]string{}}
	dropped := 0
	for id, v := range raw {
		key, others, ok := parseDocEntry(id, v)
		if !ok {
			dropped++
			continue
		}
		d.keys[id] = key
		if len(others) > 0 {
			d.overlap[id] = others
		}
	}
	return d, dropped, nil
}

// docEntry is the object form of one entry.
type docEntry struct {
	Key  string   `json:"key"`
	Keys []string `json:"keys,omitempty"`
}

func parseDocEntry(id string, v json.RawMessage) (string, []string, bool) {
	var e docEntry
	switch v = bytes.TrimLeft(v, " \t\r\n"); {
	case len(v) > 0 && v[0] == '"':
		if json.Unmarshal(v, &e.Key) != nil {
			return "", nil, false
		}
	case len(v) > 0 && v[0] == '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil || json.Unmarshal(obj["key"], &e.Key) != nil {
			return "", nil, false
		}
		if ks, ok := obj["keys"]; ok && json.Unmarshal(ks, &e.Keys) != nil {
			return "", nil, false
		}
	default:
		return "", nil, false
	}
	if validateBundleEntry(id, e.Key) != nil || len(e.Keys) > trust.MaxExtraKeys {
		return "", nil, false
	}
	var others []string
	for _, k := range e.Keys {
		if validateBundleEntry(id, k) != nil {
			return "", nil, false
		}
		if k != e.Key && !slices.Contains(others, k) {
			others = append(others, k)
		}
	}
	return e.Key, others, true
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
	return bundleDoc{keys: b}.encode()
}

// encode renders the document: rotating entries in the object form, the
// others as strings, sorted like trustBundle.encode.
func (d bundleDoc) encode() (string, error) {
	raw := make(map[string]any, len(d.keys))
	for id, key := range d.keys {
		if others := d.others(id); len(others) > 0 {
			raw[id] = docEntry{Key: key, Keys: others}
		} else {
			raw[id] = key
		}
	}
	out, err := json.Marshal(raw)
	if err != nil {
		return "", fmt.Errorf("encode trust bundle: %w", err)
	}
	return string(out), nil
}

// others is id's overlap without its primary key (a primary changed by
// trustBundle.set may equal an old overlap key).
func (d bundleDoc) others(id string) []string {
	var out []string
	for _, k := range d.overlap[id] {
		if k != d.keys[id] {
			out = append(out, k)
		}
	}
	return out
}

// setEntry makes id's entry exactly primary plus others and reports
// whether the document changed.
func (d bundleDoc) setEntry(id, primary string, others []string) bool {
	changed := d.keys.set(id, primary)
	var want []string
	for _, k := range others {
		if k != primary && !slices.Contains(want, k) {
			want = append(want, k)
		}
	}
	if slices.Equal(d.others(id), want) {
		if len(want) == 0 && len(d.overlap[id]) > 0 {
			delete(d.overlap, id) // only the primary was left in it
		}
		return changed
	}
	if len(want) == 0 {
		delete(d.overlap, id)
	} else {
		d.overlap[id] = want
	}
	return true
}

// pruneOverlap drops the overlap of agents no longer in the bundle and
// reports whether it dropped any.
func (d bundleDoc) pruneOverlap() bool {
	pruned := false
	for id := range d.overlap {
		if _, ok := d.keys[id]; !ok {
			delete(d.overlap, id)
			pruned = true
		}
	}
	return pruned
}

// clone copies the maps; overlap slices are shared (never modified).
func (d bundleDoc) clone() bundleDoc {
	c := bundleDoc{keys: maps.Clone(d.keys), overlap: maps.Clone(d.overlap)}
	if c.keys == nil {
		c.keys = trustBundle{}
	}
	if c.overlap == nil {
		c.overlap = map[string][]string{}
	}
	return c
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

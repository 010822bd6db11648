package bind

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// MaxField bounds every string that enters a transcript, header or MAC
// input. The longest legitimate value is an agent ID (at most 128 bytes
// once `from` is validated at parse, plan §5); keys are 44 base64
// characters, nonces 32, timestamps at most 29.
const MaxField = 256

// b64 is the encoding of every value this package sends.
var b64 = base64.StdEncoding

// b64strict refuses non-zero padding bits, so each value has one encoding.
var b64strict = base64.StdEncoding.Strict()

// checkFields rejects values that are too long or not valid UTF-8. names
// and values are parallel; names only label the error.
func checkFields(names []string, values ...string) error {
	for i, v := range values {
		if len(v) > MaxField {
			return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFieldTooLong, names[i], len(v), MaxField)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: %s", ErrBadField, names[i])
		}
	}
	return nil
}

// decodeB64 decodes s when it is exactly the padded base64 of size bytes.
// The length is checked first, so a hostile megabyte string costs nothing.
func decodeB64(s string, size int) ([]byte, bool) {
	if len(s) != b64.EncodedLen(size) {
		return nil, false
	}
	raw, err := b64strict.DecodeString(s)
	if err != nil || len(raw) != size {
		return nil, false
	}
	return raw, true
}

// prefixedCanonical returns prefix || crypto.CanonicalJSON({names[i]: values[i]}):
// the signed and MACed byte strings (plan §2.3, §3).
func prefixedCanonical(prefix string, names, values []string) []byte {
	m := make(map[string]string, len(names))
	for i, v := range values {
		m[names[i]] = v
	}
	js, err := crypto.CanonicalJSON(m)
	if err != nil {
		// A map of strings always encodes; this is a broken invariant.
		panic(fmt.Sprintf("bind: canonical JSON of a string map: %v", err))
	}
	return append([]byte(prefix), js...)
}

// optionalString reads m[key]: ("", nil) when absent, bad when present but
// not a non-empty string (e.g. a value a Python json.loads turned into a
// number).
func optionalString(m map[string]any, key string, bad error) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%w: %s is %T, not a non-empty string", bad, key, v)
	}
	return s, nil
}

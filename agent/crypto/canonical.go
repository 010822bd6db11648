package crypto

import "github.com/hsfleet/hsfleet/agent/wire/pyjson"

// CanonicalJSON encodes v exactly as Python's json.dumps(v, sort_keys=True,
// separators=(",", ":"), ensure_ascii=True): the bytes HSAgent_1 hashes and
// signs. See pyjson.Append for the accepted value types.
func CanonicalJSON(v any) ([]byte, error) {
	return pyjson.Marshal(v)
}

// Package pyjson speaks JSON the way the Python side of the HSAgent protocol
// does. The encoder reproduces json.dumps(v, sort_keys=True,
// separators=(",", ":"), ensure_ascii=True) byte for byte, which is what
// HSAgent_1 signs; the parser turns untrusted JSON into the generic values the
// agent works with (map[string]any, []any, string, int64, float64, bool, nil)
// with a nesting bound, and never panics.
package pyjson

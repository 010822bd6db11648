package wire

import (
	"fmt"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

// maxEncodeDepth keeps a self-referencing payload from recursing forever.
const maxEncodeDepth = 64

// Encode renders p as the typed envelope line Summoner clients send:
// {"_version":"1.3.0","_payload":{...},"_type":{...}} and a newline. _type
// names every leaf ("str", "null", "int", "float", "bool") and mirrors nested
// objects and lists; without a "str" leaf a Python receiver would turn
// digit-only strings such as references into ints. Keys are sorted and the
// output is pure ASCII, so the line is identical on every run.
func Encode(p Payload) ([]byte, error) {
	buf := make([]byte, 0, 512)
	buf = append(buf, `{"_version":"`+Version+`","_payload":`...)
	var err error
	if p == nil {
		buf = append(buf, "{}"...)
	} else if buf, err = pyjson.Append(buf, p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnencodable, err)
	}
	buf = append(buf, `,"_type":`...)
	if buf, err = appendTypes(buf, p, 0); err != nil {
		return nil, err
	}
	return append(buf, '}', '\n'), nil
}

// appendTypes writes the _type tree for v, in the same key order that
// pyjson used for the payload.
func appendTypes(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrUnencodable, maxEncodeDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, `"null"`...), nil
	case string:
		return append(dst, `"str"`...), nil
	case bool: // before the integers, as Python tests bool before int
		return append(dst, `"bool"`...), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return append(dst, `"int"`...), nil
	case float32, float64:
		return append(dst, `"float"`...), nil
	case map[string]any:
		keys := sortedKeys(x)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = pyjson.AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendTypes(dst, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case map[string]string:
		keys := sortedKeys(x)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = pyjson.AppendString(dst, k)
			dst = append(dst, `:"str"`...)
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendTypes(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `"str"`...)
		}
		return append(dst, ']'), nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnencodable, v)
	}
}

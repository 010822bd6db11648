package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

// Decode reads one line delivered by the relay (one trailing "\n" or "\r\n"
// is ignored):
//
//   - {"remote_addr": "ip:port", "content": "<JSON text>"} as the Python
//     server writes it, or with content already an object; content holds a
//     typed envelope (its _payload is returned, its _type is not needed
//     because HSAgent fields are strings or null) or a bare payload object.
//   - Anything not starting with '{' is KindText: the relay's own
//     "Warning: ..." notices. A relayed content that is not a JSON object
//     (a peer sending plain text), or an envelope whose _payload is a
//     string (another Summoner agent's chat line), is KindText too, with
//     RemoteAddr set.
//
// The content string is parsed straight from the unescaped outer value, and
// the _type tree is only syntax-checked, so each byte is scanned about twice.
func Decode(line []byte, lim Limits) (Inbound, error) {
	lim = lim.withDefaults()
	line = trimNewline(line)
	if len(line) > lim.MaxLine {
		return Inbound{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, len(line), lim.MaxLine)
	}
	trimmed := bytes.TrimLeft(line, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Inbound{Kind: KindText, Text: string(line)}, nil
	}
	outer, err := pyjson.ParseObject(trimmed, lim.MaxDepth)
	if err != nil {
		return Inbound{}, parseError("relay line", err)
	}
	addr, ok := outer["remote_addr"].(string)
	if !ok {
		return Inbound{}, fmt.Errorf("%w: remote_addr missing or not a string", ErrNotRelayed)
	}
	content, ok := outer["content"]
	if !ok {
		return Inbound{}, fmt.Errorf("%w: content missing", ErrNotRelayed)
	}
	var obj map[string]any
	switch c := content.(type) {
	case string:
		body := strings.TrimLeft(c, " \t\r\n")
		if len(body) == 0 || body[0] != '{' {
			return Inbound{Kind: KindText, RemoteAddr: addr, Text: c}, nil
		}
		if obj, err = pyjson.ParseObject(body, lim.MaxDepth, "_type"); err != nil {
			return Inbound{}, parseError("content", err)
		}
		if _, typed := obj["_type"]; typed && !isEnvelope(obj) {
			// A bare payload with its own "_type" key: build it after all.
			if obj, err = pyjson.ParseObject(body, lim.MaxDepth); err != nil {
				return Inbound{}, parseError("content", err)
			}
		}
	case map[string]any:
		obj = c
	default:
		return Inbound{}, fmt.Errorf("%w: content is %s", ErrBadContent, jsonKind(content))
	}
	if isEnvelope(obj) {
		switch p := obj["_payload"].(type) {
		case map[string]any:
			return Inbound{Kind: KindMessage, RemoteAddr: addr, Payload: p}, nil
		case string: // a Summoner client sending a plain string message
			return Inbound{Kind: KindText, RemoteAddr: addr, Text: p}, nil
		default:
			return Inbound{}, fmt.Errorf("%w: _payload is %s", ErrBadContent, jsonKind(p))
		}
	}
	return Inbound{Kind: KindMessage, RemoteAddr: addr, Payload: obj}, nil
}

// isEnvelope applies the Python client's rule: all three keys present.
func isEnvelope(obj map[string]any) bool {
	_, v := obj["_version"]
	_, p := obj["_payload"]
	_, t := obj["_type"]
	return v && p && t
}

func trimNewline(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

func parseError(what string, err error) error {
	if errors.Is(err, pyjson.ErrTooDeep) {
		return fmt.Errorf("%w: %s: %w", ErrTooDeep, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

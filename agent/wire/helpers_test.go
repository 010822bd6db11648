package wire

import (
	"reflect"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

// relayWrap wraps a client line exactly as the Python relay does.
func relayWrap(addr string, line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	out := []byte(`{"remote_addr": `)
	out = pyjson.AppendString(out, addr)
	out = append(out, `, "content": `...)
	out = pyjson.AppendString(out, string(line))
	return append(out, "}\n"...)
}

func equalPayload(a, b Payload) bool { return reflect.DeepEqual(a, b) }

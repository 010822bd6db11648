package relay

import "strconv"

// What a Summoner (Python) client can take, and what the relay drops so
// that one bad line cannot kill every connected Python agent.
//
// The client reads with asyncio's StreamReader (limit 2**16) and then drops
// any line whose length, newline included, exceeds max_bytes_per_line
// (64 KiB): a longer line either raises ValueError out of readline or, past
// the reader's buffer, leaves a fragment that is parsed as the next line.
// Wrapping grows a line: ensure_ascii escaping turns a quote into 2 bytes, a
// control byte into 6 and a 4-byte UTF-8 rune into 12 (a surrogate pair),
// so the relay measures the wrapped frame itself, not the input.
//
// Its receive path then json.loads the wrapper and the content; the
// reference agent's hooks raise on any content that is not a dict, and the
// exception ends the client. See pyjson.go for the exact rule.

// DefaultMaxRelayedLine is the Summoner client's max_bytes_per_line
// (summoner/client/client.py DEFAULT_MAX_BYTES_PER_LINE), counted with the
// newline as the client counts it.
const DefaultMaxRelayedLine = 64 << 10

// Warnings for lines the client filter drops.
const WarnNotJSONObject = "Warning: Line is not a JSON object a Summoner client can read; dropped.\n"

// WarnRelayedTooLong is the warning for a line whose wrapped form would
// exceed limit bytes.
func WarnRelayedTooLong(limit int) string {
	return "Warning: Line would exceed " + strconv.Itoa(limit) + " bytes once relayed; dropped.\n"
}

const (
	reasonNotJSONObject  = "not_json_object"
	reasonRelayedTooLong = "relayed_too_long"
)

// clientSafe reports whether a received line may be relayed under the
// client filter; AllowPlainText turns the content check off.
func (s *Server) clientSafe(line []byte) bool {
	return s.cfg.AllowPlainText || pySafeObject(line)
}

// fitsClients reports whether a wrapped frame (newline included) is within
// MaxRelayedLine; a negative limit means no cap.
func (s *Server) fitsClients(wrapped []byte) bool {
	return s.cfg.MaxRelayedLine < 0 || len(wrapped) <= s.cfg.MaxRelayedLine
}

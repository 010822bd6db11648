package relay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanClaim(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		from, to  string // "" means nil
		ambiguous bool
	}{
		{"envelope", envelopeLine, "d8045fd9-aaaa-bbbb-cccc-0123456789ab", "", false},
		{"envelope, directed", agentLine("a1", "b2", "request"), "a1", "b2", false},
		{"bare payload", `{"from": "a", "to": "b", "intent": "x"}`, "a", "b", false},
		{"envelope ignores top-level from", `{"from": "top", "_version": "1", "_payload": {"from": "in"}, "_type": {}}`, "in", "", false},
		{"not an envelope without _type: top-level from", `{"from": "top", "_version": "1", "_payload": {"from": "in"}}`, "top", "", false},
		{"string payload, chat", `{"_version": "1", "_payload": "hello there", "_type": "str"}`, "", "", false},
		{"no from", `{"intent": "x"}`, "", "", false},
		{"null from", `{"_version": "1", "_payload": {"from": null}, "_type": {}}`, "", "", false},
		{"plain text", `from to intent`, "", "", false},
		{"broken JSON", `{"from": "a"`, "", "", false},
		{"trailing data", `{"from": "a"} x`, "", "", false},
		{"JSON string holding an object", `"{\"from\": \"victim\"}"`, "victim", "", false},
		{"JSON string holding plain text", `"just text"`, "", "", false},

		{"escaped from value", `{"_version": "1", "_payload": {"from": "vict\u0069m"}, "_type": {}}`, "", "", true},
		{"escaped key", `{"_version": "1", "_payload": {"fr\u006fm": "victim"}, "_type": {}}`, "", "", true},
		{"escaped top-level key", `{"_p\u0061yload": {"from": "victim"}, "_version": "1", "_type": {}}`, "", "", true},
		{"duplicate from", `{"from": "me", "from": "victim"}`, "", "", true},
		{"duplicate from in payload", `{"_version": "1", "_payload": {"from": "me", "from": "victim"}, "_type": {}}`, "", "", true},
		{"duplicate payload", `{"_version": "1", "_payload": {"from": "me"}, "_payload": {"x": 1}, "_type": {}}`, "", "", true},
		{"string payload holding an object", `{"_version": "1", "_payload": "{\"from\": \"victim\"}", "_type": "str"}`, "", "", true},
		{"string payload, escaped brace", `{"_version": "1", "_payload": " \u007b\"from\": \"victim\"}", "_type": "str"}`, "", "", true},
		{"deeper than the scan, still JSON", `{"a": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `, "from": "victim"}`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanClaim([]byte(tt.line))
			if got.ambiguous != tt.ambiguous {
				t.Fatalf("ambiguous = %v, want %v", got.ambiguous, tt.ambiguous)
			}
			if string(got.from) != tt.from || (got.from == nil) != (tt.from == "") {
				t.Errorf("from = %q, want %q", got.from, tt.from)
			}
			if string(got.to) != tt.to || (got.to == nil) != (tt.to == "") {
				t.Errorf("to = %q, want %q", got.to, tt.to)
			}
		})
	}
}

func TestScanClaimDoesNotAllocate(t *testing.T) {
	line := []byte(agentLine("d8045fd9-aaaa-bbbb-cccc-0123456789ab", "b2", "request"))
	if n := testing.AllocsPerRun(100, func() { _ = scanClaim(line) }); n != 0 {
		t.Errorf("scanClaim allocates %.0f times per line", n)
	}
}

// receiverFrom is an independent reading of the "from" a receiver takes
// from line, with encoding/json: the envelope's _payload.from or the bare
// payload's from, after decoding a line or a _payload that is a JSON
// string, as the Python client does. ok is false when encoding/json cannot
// read the line as a receiver would.
func receiverFrom(line []byte) (from string, isString, ok bool) {
	var v any
	if json.Unmarshal(line, &v) != nil {
		return "", false, false
	}
	for range maxClaimStringDepth + 1 {
		s, isStr := v.(string)
		if !isStr {
			break
		}
		if json.Unmarshal([]byte(s), &v) != nil {
			return "", false, true
		}
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return "", false, true
	}
	_, hasV := obj["_version"]
	p, hasP := obj["_payload"]
	_, hasT := obj["_type"]
	if hasV && hasP && hasT {
		if s, isStr := p.(string); isStr {
			if json.Unmarshal([]byte(s), &p) != nil {
				return "", false, true
			}
		}
		if obj, isObj = p.(map[string]any); !isObj {
			return "", false, true
		}
	}
	from, isString = obj["from"].(string)
	return from, isString, true
}

func FuzzScanClaim(f *testing.F) {
	for _, s := range []string{envelopeLine, agentLine("a", "b", "x"), `{"from": "a", "from": "b"}`,
		`"{\"from\": \"v\"}"`, `{"_version": "1", "_payload": "{\"from\": \"v\"}", "_type": "str"}`,
		`{"_version": "1", "_payload": {"fr\u006fm": "v"}, "_type": {}}`, `{"a": [[[{"from": "x"}]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got := scanClaim(line)
		if got.ambiguous || !utf8.Valid(line) {
			// Ambiguous: the relay refuses to vouch, always safe.
			// Invalid UTF-8: never relayed (wrapping refuses it).
			return
		}
		want, isString, ok := receiverFrom(line)
		if !ok {
			return // not JSON for encoding/json (which is stricter than the scan in places)
		}
		if !isString {
			want = ""
		}
		if got.from == nil && isString && want != "" {
			t.Fatalf("scan saw no from, a receiver reads %q", want)
		}
		if got.from != nil && string(got.from) != want {
			t.Fatalf("scan saw from %q, a receiver reads %q", got.from, want)
		}
		if got.from != nil && !bytes.Contains(line, got.from) && !bytes.HasPrefix(bytes.TrimLeft(line, " \t\r\n"), []byte(`"`)) {
			t.Fatalf("from %q is not part of the line", got.from)
		}
	})
}

func FuzzParseAuthLine(f *testing.F) {
	for _, m := range []authMsg{{Type: authHello, V: 1, ID: "alice-0001"}, {Type: authResponse, Sig: strings.Repeat("A", 86) + "=="},
		{Type: authChallenge, V: 1, Nonce: strings.Repeat("A", 43) + "="}, {Type: authRefused, Reason: "unknown_id"}, {Type: authOK, ID: "x"}} {
		f.Add(bytes.TrimSuffix(encodeAuthLine(m), []byte("\n")))
	}
	f.Add([]byte(`{"hsfleet_relay_auth":"hello","v":1,"id":"a","id":"b"}`))
	f.Add([]byte(`{"hsfleet_relay_auth":"hello","v":1,"id":"a"} {}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := parseAuthLine(line)
		if err != nil {
			return
		}
		if len(line) > maxAuthLine || !isAuthLine(line) {
			t.Fatalf("accepted %q", line)
		}
		if err := m.check(); err != nil {
			t.Fatalf("accepted a message its own check refuses: %v", err)
		}
		// What the relay accepts it can render, and reads back the same.
		back, err := parseAuthLine(bytes.TrimSuffix(encodeAuthLine(m), []byte("\n")))
		if err != nil || back != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, back, err)
		}
	})
}

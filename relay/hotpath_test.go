package relay

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// The relay's per-line work (validate, wrap once, fan out to every queue,
// and the writers' release) must not allocate: at a million deliveries a
// second, garbage is what would cost the latency target.
func TestRelayHotPathDoesNotAllocate(t *testing.T) {
	r := newHandleRig(t, ServerConfig{}, 4)
	line := []byte(`{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9-aaaa-bbbb-cccc-0123456789ab"}, "_type": {"to": "null", "intent": "str", "from": "str"}}`)
	relayOnce := func() { r.relay(line) }
	relayOnce() // warm the pool and the queues' slices
	if n := testing.AllocsPerRun(1000, relayOnce); n != 0 {
		t.Errorf("relaying one line to %d clients allocates %.1f times", len(r.conns)-1, n)
	}
	if got := metricValue(t, r.s.metrics.dropRecipient); got != 0 {
		t.Errorf("deliveries dropped: %v", got)
	}
}

// Whatever a client sends, a relayed wrapper is ASCII JSON that decodes
// back to exactly the line; anything else is rejected as invalid UTF-8.
func FuzzAppendWrapped(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte("say \"hi\" \\ \x00\x1f\x7f"))
	f.Add([]byte("caf\u00e9 \U0001F600 \ufeff"))
	f.Add([]byte("\xed\xa0\x80 \xc0\xaf \xff"))
	f.Fuzz(func(t *testing.T, line []byte) {
		out, err := AppendWrapped(nil, "[::1]:5555", line)
		if !utf8.Valid(line) {
			if err == nil {
				t.Fatalf("invalid UTF-8 %q accepted", line)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid line %q rejected: %v", line, err)
		}
		for _, c := range out[:len(out)-1] {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("non-ASCII or control byte %#x in %q", c, out)
			}
		}
		var w struct {
			RemoteAddr string `json:"remote_addr"`
			Content    string `json:"content"`
		}
		if err := json.Unmarshal(out, &w); err != nil {
			t.Fatalf("wrapper %q is not JSON: %v", out, err)
		}
		if w.RemoteAddr != "[::1]:5555" || w.Content != string(line) {
			t.Fatalf("round trip: got %q from %q, want %q", w.Content, out, line)
		}
	})
}

package relay

import (
	"bytes"
	"testing"
)

func TestBusLineRoundTrip(t *testing.T) {
	w := []byte("{\"remote_addr\": \"1.2.3.4:5\", \"content\": \"x\"}\n")
	for _, to := range [][]byte{nil, []byte("agent-a"), bytes.Repeat([]byte("x"), maxRouteID+1)} {
		gotTo, gotW, err := decodeBusLine(encodeBusLine(nil, to, w))
		if err != nil || !bytes.Equal(gotW, w) {
			t.Fatalf("to %q: got %q %q %v", to, gotTo, gotW, err)
		}
		if len(to) <= maxRouteID && !bytes.Equal(gotTo, to) {
			t.Fatalf("to %q came back as %q", to, gotTo)
		}
		if len(to) > maxRouteID && len(gotTo) != 0 {
			t.Fatalf("overlong id %d bytes kept", len(to))
		}
	}
	for _, bad := range []string{"", "\x00", "\x00x", "\x05ab\n", "\xffx\n"} {
		if _, _, err := decodeBusLine([]byte(bad)); err == nil {
			t.Errorf("decodeBusLine(%q) accepted", bad)
		}
	}
}

// FuzzDecodeBusLine: lines from other replicas never panic, and whatever
// is accepted re-encodes to the same bytes.
func FuzzDecodeBusLine(f *testing.F) {
	f.Add([]byte("\x00{}\n"))
	f.Add([]byte("\x07agent-a{\"a\":1}\n"))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		to, w, err := decodeBusLine(b)
		if err != nil {
			return
		}
		if w[len(w)-1] != '\n' || !bytes.Equal(encodeBusLine(nil, to, w), b) {
			t.Fatalf("accepted %q but it does not round-trip", b)
		}
	})
}

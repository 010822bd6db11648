package relay

import (
	"strings"
	"testing"
	"time"
)

// By default the relay passes only lines a Summoner client survives: the
// lines that killed Python agents get a warning to the sender and a metric,
// and nobody else sees them. Real TCP, default config.
func TestRelayDropsLinesSummonerClientsCannotTake(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)

	// 21,000 quotes are 21 KB in and 42 KB escaped: a line that is legal on
	// input but too long once wrapped.
	quotes := `{"q": "` + strings.Repeat(`\"`, 21000) + `"}`
	notObjects := []string{"from to intent", `[{"from": "a"}]`, `{"a": ` + strings.Repeat("7", 5000) + `}`}
	for _, line := range notObjects {
		a.send(line + "\n")
		if got := a.mustReadLine(); got != WarnNotJSONObject {
			t.Errorf("%.20q: sender got %q, want %q", line, got, WarnNotJSONObject)
		}
	}
	a.send("{\"a\": \"caf\xe9\"}\n")
	if got := a.mustReadLine(); got != WarnInvalidUTF8 {
		t.Errorf("invalid UTF-8: sender got %q, want %q", got, WarnInvalidUTF8)
	}
	a.send(quotes + "\n")
	if got, want := a.mustReadLine(), WarnRelayedTooLong(DefaultMaxRelayedLine); got != want {
		t.Errorf("too long wrapped: sender got %q, want %q", got, want)
	}
	a.send(envelopeLine + "\n")
	if got, want := b.mustReadLine(), wrapped(t, a.addr(), envelopeLine); got != want {
		t.Errorf("envelope: got %.80q, want %.80q", got, want)
	}
	b.expectSilence(50 * time.Millisecond)
	a.expectSilence(10 * time.Millisecond)
	for name, want := range map[string]float64{reasonNotJSONObject: 3, reasonRelayedTooLong: 1} {
		c := s.metrics.dropNotJSON
		if name == reasonRelayedTooLong {
			c = s.metrics.dropRelayedLong
		}
		if got := metricValue(t, c); got != want {
			t.Errorf("%s drops = %v, want %v", name, got, want)
		}
	}
}

// The cap counts the wrapped line with its newline, as the Python client
// counts what readline returns: exactly the limit passes, one more does not.
func TestRelayMaxRelayedLineBoundary(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	overhead := len(wrapped(t, a.addr(), `{"p": ""}`))
	fits := `{"p": "` + strings.Repeat("p", DefaultMaxRelayedLine-overhead) + `"}`
	if n := len(wrapped(t, a.addr(), fits)); n != DefaultMaxRelayedLine {
		t.Fatalf("test line wraps to %d bytes, want %d", n, DefaultMaxRelayedLine)
	}
	a.send(fits + "\n")
	if got := b.mustReadLine(); len(got) != DefaultMaxRelayedLine {
		t.Errorf("line of exactly the limit: got %d bytes", len(got))
	}
	a.send(`{"p": "p` + fits[len(`{"p": "`):] + "\n")
	if got, want := a.mustReadLine(), WarnRelayedTooLong(DefaultMaxRelayedLine); got != want {
		t.Errorf("one byte over: sender got %q, want %q", got, want)
	}
	b.expectSilence(50 * time.Millisecond)
}

// AllowPlainText and a negative MaxRelayedLine restore the plain Summoner
// relay: any UTF-8 line goes through, however long it wraps.
func TestRelayFilterOffRelaysPlainText(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{AllowPlainText: true, MaxRelayedLine: -1})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	long := strings.Repeat(`"`, 40000)
	for _, line := range []string{"from to intent", `[1]`, long} {
		a.send(line + "\n")
		if got, want := b.mustReadLine(), wrapped(t, a.addr(), line); got != want {
			t.Errorf("%.20q: got %.80q, want %.80q", line, got, want)
		}
	}
	a.expectSilence(50 * time.Millisecond)
}

// A relay configured for lines longer than a Python client reads does not
// cap what it relays unless told to.
func TestMaxRelayedLineDefaultFollowsMaxLine(t *testing.T) {
	if got := (ServerConfig{}).withDefaults().MaxRelayedLine; got != DefaultMaxRelayedLine {
		t.Errorf("default MaxRelayedLine = %d, want %d", got, DefaultMaxRelayedLine)
	}
	if got := (ServerConfig{MaxLine: 256 << 10}).withDefaults().MaxRelayedLine; got >= 0 {
		t.Errorf("MaxRelayedLine with a 256 KiB MaxLine = %d, want no cap", got)
	}
	if got := (ServerConfig{MaxLine: 256 << 10, MaxRelayedLine: 1000}).withDefaults().MaxRelayedLine; got != 1000 {
		t.Errorf("explicit MaxRelayedLine = %d, want 1000", got)
	}
}

package relay

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRelayDeliversEveryLineOnceInOrderToEveryOtherClient(t *testing.T) {
	for _, listen := range loopbacks(t) {
		t.Run(listen, func(t *testing.T) {
			const clients, perClient = 5, 300
			s, _ := startServer(t, ServerConfig{Listen: listen})
			cs := make([]*rawClient, clients)
			index := map[string]int{}
			for i := range cs {
				cs[i] = dialRaw(t, s.Addr())
				index[cs[i].addr()] = i
			}
			connected(t, s, clients)

			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i, c := range cs {
				wg.Add(2)
				go func() {
					defer wg.Done()
					var b strings.Builder
					for seq := range perClient {
						fmt.Fprintf(&b, "client %d line %d\n", i, seq)
					}
					if _, err := io.WriteString(c.nc, b.String()); err != nil {
						errs <- err
					}
				}()
				go func() {
					defer wg.Done()
					errs <- receiveAll(c, i, index, clients, perClient)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// receiveAll checks that client self gets exactly perClient lines from each
// other client, in order, correctly attributed, and none of its own.
func receiveAll(c *rawClient, self int, index map[string]int, clients, perClient int) error {
	next := make([]int, clients)
	for range (clients - 1) * perClient {
		line, err := c.readLine(testTimeout)
		if err != nil {
			return fmt.Errorf("client %d: read after %v lines: %w", self, next, err)
		}
		var w struct {
			RemoteAddr string `json:"remote_addr"`
			Content    string `json:"content"`
		}
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			return fmt.Errorf("client %d: bad wrapper %q: %w", self, line, err)
		}
		from, ok := index[w.RemoteAddr]
		if !ok || from == self {
			return fmt.Errorf("client %d: line from unexpected sender %q", self, w.RemoteAddr)
		}
		if want := fmt.Sprintf("client %d line %d", from, next[from]); w.Content != want {
			return fmt.Errorf("client %d: got %q, want %q", self, w.Content, want)
		}
		next[from]++
	}
	if line, err := c.readLine(50 * time.Millisecond); err == nil {
		return fmt.Errorf("client %d: extra line %q", self, line)
	}
	return nil
}

func TestRelayWrapperIsByteExactOverTCP(t *testing.T) {
	for _, listen := range loopbacks(t) {
		t.Run(listen, func(t *testing.T) {
			s, _ := startServer(t, ServerConfig{Listen: listen})
			a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
			connected(t, s, 2)
			content := `{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9-` + "\u00e9" +
				`"}, "_type": {"to": "null"}}` + "\r"
			a.send(content + "\n")
			got := b.mustReadLine()
			want := `{"remote_addr": "` + a.addr() + `", "content": "{\"_version\": \"1.3.0\", \"_payload\": {\"to\": null, \"intent\": \"register\", \"from\": \"d8045fd9-\u00e9\"}, \"_type\": {\"to\": \"null\"}}\r"}` + "\n"
			if got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if strings.HasPrefix(listen, "[") && !strings.HasPrefix(a.addr(), "[::1]:") {
				t.Errorf("IPv6 sender named %q, want [::1]:port", a.addr())
			}
			a.expectSilence(50 * time.Millisecond) // never its own line
		})
	}
}

func TestRelayDropsBadLinesWithWarningAndKeepsConnection(t *testing.T) {
	const limit = 1024
	s, _ := startServer(t, ServerConfig{MaxLine: limit})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)

	a.send(strings.Repeat("x", limit+1) + "\n")
	if got := a.mustReadLine(); got != WarnTooLong(limit) {
		t.Errorf("oversized: sender got %q, want %q", got, WarnTooLong(limit))
	}
	a.send("caf\xe9\n")
	if got := a.mustReadLine(); got != WarnInvalidUTF8 {
		t.Errorf("non-UTF-8: sender got %q, want %q", got, WarnInvalidUTF8)
	}
	// Garbage that is valid UTF-8 is relayed untouched, as the reference does.
	for _, garbage := range []string{"hello world", "from to intent", "{\"unterminated", strings.Repeat("y", limit)} {
		a.send(garbage + "\n")
		if got, want := b.mustReadLine(), wrapped(t, a.addr(), garbage); got != want {
			t.Errorf("garbage %.20q: got %.80q, want %.80q", garbage, got, want)
		}
	}
	b.expectSilence(50 * time.Millisecond)
	if got := metricValue(t, s.metrics.dropTooLong); got != 1 {
		t.Errorf("too_long drops = %v, want 1", got)
	}
	if got := metricValue(t, s.metrics.dropInvalidUTF8); got != 1 {
		t.Errorf("invalid_utf8 drops = %v, want 1", got)
	}
}

func TestRelayRateLimitAnswersLikeRustServer(t *testing.T) {
	s, _ := startServer(t, ServerConfig{RateLimitPerMinute: 3})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	for i := range 5 {
		a.send(fmt.Sprintf("line %d\n", i))
	}
	for i := range 3 {
		if got, want := b.mustReadLine(), wrapped(t, a.addr(), fmt.Sprintf("line %d", i)); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	b.expectSilence(50 * time.Millisecond)
	for range 2 {
		if got := a.mustReadLine(); got != WarnRateLimited {
			t.Errorf("sender got %q, want the rate-limit warning", got)
		}
	}
	if got := metricValue(t, s.metrics.dropRateLimited); got != 2 {
		t.Errorf("rate_limited drops = %v, want 2", got)
	}
}

func TestFixedWindowResetsAfterAMinute(t *testing.T) {
	w := newFixedWindow(2)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Second, true}, {59 * time.Second, false}, {60 * time.Second, true}, {61 * time.Second, true}, {62 * time.Second, false}}
	for _, st := range steps {
		if got := w.allow(t0.Add(st.at)); got != st.want {
			t.Errorf("allow at +%v = %v, want %v", st.at, got, st.want)
		}
	}
	if newFixedWindow(0) != nil {
		t.Error("a zero limit must disable the limiter")
	}
}

func TestRelayIdleTimeoutWarnsAndDisconnects(t *testing.T) {
	s, _ := startServer(t, ServerConfig{IdleTimeout: 150 * time.Millisecond})
	a := dialRaw(t, s.Addr())
	if got := a.expectEOF(); len(got) != 1 || got[0] != WarnIdle {
		t.Errorf("before EOF got %q, want just the idle warning", got)
	}
	eventually(t, "idle disconnect metric", func() bool {
		return metricValue(t, s.metrics.disconnects.WithLabelValues(reasonIdle)) == 1
	})
}

func TestRelayShutdownWarnsEveryClientAndStopsAccepting(t *testing.T) {
	s, stop := startServer(t, ServerConfig{MetricsListen: "127.0.0.1:0"})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	a.send("last words\n")
	if got, want := b.mustReadLine(), wrapped(t, a.addr(), "last words"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	stop()
	for name, c := range map[string]*rawClient{"a": a, "b": b} {
		if got := c.expectEOF(); len(got) != 1 || got[0] != WarnShutdown {
			t.Errorf("client %s got %q before EOF, want the shutdown warning", name, got)
		}
	}
	if nc, err := dialTimeout(s.Addr().String(), time.Second); err == nil {
		nc.Close()
		t.Error("relay still accepts after shutdown")
	}
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonShutdown)); got != 2 {
		t.Errorf("shutdown disconnects = %v, want 2", got)
	}
}

func TestRelayHealthReadyAndMetricsEndpoints(t *testing.T) {
	s, _ := startServer(t, ServerConfig{MetricsListen: "127.0.0.1:0"})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	a.send("ping\n")
	b.mustReadLine()
	base := "http://" + s.MetricsAddr().String()
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": "hsfleet_relay_lines_received_total 1",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %.200q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
	}
}

func TestRelayRefusesClientsOverMaxConnections(t *testing.T) {
	s, _ := startServer(t, ServerConfig{MaxConnections: 1})
	a := dialRaw(t, s.Addr())
	connected(t, s, 1)
	b := dialRaw(t, s.Addr())
	if got := b.expectEOF(); len(got) != 1 || got[0] != WarnServerFull {
		t.Errorf("refused client got %q, want the server-full warning", got)
	}
	a.expectSilence(20 * time.Millisecond)
}

func TestDirectedRoutingDeliversOnlyToTheNamedClient(t *testing.T) {
	s, _ := startServer(t, ServerConfig{DirectedRouting: true})
	// a, b and c announce their ids; d is a squatter that claims b's id,
	// which makes it contested (docs/integrity-plan.md §5).
	ids := []string{"id-a", "id-b", "id-c", "id-b"}
	cs := make([]*rawClient, len(ids))
	for i := range cs {
		cs[i] = dialRaw(t, s.Addr())
	}
	connected(t, s, len(ids))
	envelope := func(from, to string) string {
		toJSON := "null"
		if to != "" {
			toJSON = `"` + to + `"`
		}
		return fmt.Sprintf(`{"_version": "1.3.0", "_payload": {"to": %s, "intent": "x", "from": "%s"}, "_type": {}}`, toJSON, from)
	}
	// Announcements are broadcasts: each reaches the three others. Sent one
	// at a time so the spoofer comes last and finds id-b taken.
	for i, c := range cs {
		c.send(envelope(ids[i], "") + "\n")
		for j, other := range cs {
			if j != i {
				other.mustReadLine()
			}
		}
	}
	tests := []struct {
		name      string
		to        string
		receivers []int
	}{
		{"an id a second client claimed is contested: broadcast", "id-b", []int{1, 2, 3}},
		{"another known id", "id-c", []int{2}},
		{"null to broadcasts", "", []int{1, 2, 3}},
		{"unknown id broadcasts", "id-zzz", []int{1, 2, 3}},
		{"own id broadcasts", "id-a", []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := envelope("id-a", tt.to)
			cs[0].send(line + "\n")
			want := wrapped(t, cs[0].addr(), line)
			got := map[int]bool{}
			for _, r := range tt.receivers {
				if l := cs[r].mustReadLine(); l != want {
					t.Errorf("client %d got %q, want %q", r, l, want)
				}
				got[r] = true
			}
			for i := 1; i < len(cs); i++ {
				if !got[i] {
					cs[i].expectSilence(30 * time.Millisecond)
				}
			}
		})
	}
	if got := metricValue(t, s.metrics.directed); got != 1 {
		t.Errorf("directed lines = %v, want 1", got)
	}
	if got := metricValue(t, s.metrics.routesContested); got != 1 {
		t.Errorf("contested routes = %v, want 1", got)
	}
}

func TestRelayIdleTimeoutSparesActiveClients(t *testing.T) {
	s, _ := startServer(t, ServerConfig{IdleTimeout: 300 * time.Millisecond})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 2)
	for i := range 8 { // 800 ms of traffic both ways, well past the timeout
		for _, pair := range [][2]*rawClient{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			from.send(fmt.Sprintf("tick %d\n", i))
			if got, want := to.mustReadLine(), wrapped(t, from.addr(), fmt.Sprintf("tick %d", i)); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonIdle)); got != 0 {
		t.Fatalf("idle disconnects = %v while both clients were active", got)
	}
	// Now both fall silent and are timed out.
	for _, c := range []*rawClient{a, b} {
		if got := c.expectEOF(); len(got) != 1 || got[0] != WarnIdle {
			t.Errorf("got %q before EOF, want the idle warning", got)
		}
	}
}

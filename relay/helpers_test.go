package relay

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testTimeout bounds every wait in these tests; nothing should come close.
const testTimeout = 10 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer runs a relay on cfg.Listen (default 127.0.0.1:0) until the
// test ends, and checks that Serve returned cleanly. The transport tests
// send plain lines, so it relays them (AllowPlainText); tests of the client
// filter use startFilteringServer.
func startServer(t testing.TB, cfg ServerConfig) (*Server, context.CancelFunc) {
	t.Helper()
	cfg.AllowPlainText = true
	return startFilteringServer(t, cfg)
}

// startFilteringServer is startServer with cfg's filter settings as given.
func startFilteringServer(t testing.TB, cfg ServerConfig) (*Server, context.CancelFunc) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := NewServer(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
			served <- nil // let a second stop return at once
		case <-time.After(testTimeout):
			t.Errorf("Serve did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return s, stop
}

// loopbacks lists the loopback listen addresses to test on; [::1] is
// skipped only when the kernel has no IPv6 loopback.
func loopbacks(t *testing.T) []string {
	out := []string{"127.0.0.1:0"}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Logf("no IPv6 loopback, testing 127.0.0.1 only: %v", err)
		return out
	}
	ln.Close()
	return append(out, "[::1]:0")
}

// rawClient is a bare TCP client, so tests see the relay's exact bytes.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr net.Addr) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr.String(), testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReaderSize(nc, 1<<20)}
}

// addr is how the relay names this client in remote_addr.
func (c *rawClient) addr() string { return FormatAddr(c.nc.LocalAddr()) }

func (c *rawClient) send(s string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// readLine returns the next line including its "\n" (absent only at EOF).
func (c *rawClient) readLine(timeout time.Duration) (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	return c.br.ReadString('\n')
}

func (c *rawClient) mustReadLine() string {
	c.t.Helper()
	line, err := c.readLine(testTimeout)
	if err != nil {
		c.t.Fatalf("read: %v (partial %q)", err, line)
	}
	return line
}

// expectSilence asserts nothing arrives for d.
func (c *rawClient) expectSilence(d time.Duration) {
	c.t.Helper()
	line, err := c.readLine(d)
	if err == nil || line != "" {
		c.t.Fatalf("expected nothing, got %q (err %v)", line, err)
	}
	if !errors.Is(err, errTimeout) && !isTimeout(err) {
		c.t.Fatalf("expected a timeout, got %v", err)
	}
}

// expectEOF reads until the relay closes the connection, returning what
// came before, which must be at most a few warning lines.
func (c *rawClient) expectEOF() []string {
	c.t.Helper()
	var lines []string
	for range 1000 {
		line, err := c.readLine(testTimeout)
		if line != "" {
			lines = append(lines, line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !isReset(err) {
				c.t.Fatalf("expected EOF, got %v", err)
			}
			return lines
		}
	}
	c.t.Fatalf("no EOF after 1000 lines")
	return nil
}

var errTimeout = errors.New("timeout")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// eventually polls cond until it holds or testTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wrapped is the exact line the relay must deliver for content from addr.
func wrapped(t testing.TB, addr, content string) string {
	t.Helper()
	b, err := AppendWrapped(nil, addr, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// connected waits until the relay has registered n clients, so a line sent
// next is sure to reach all of them.
func connected(t testing.TB, s *Server, n int) {
	t.Helper()
	eventually(t, "clients to register", func() bool { return len(s.hub.conns()) == n })
}

func dialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, d)
}

// metricValue reads a counter or gauge without the testutil package (which
// would pull new modules into go.mod).
func metricValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("metric is neither counter nor gauge")
	return 0
}

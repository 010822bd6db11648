package relay

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runClient runs c until the test ends and checks Run's clean return.
func runClient(t testing.TB, c *Client) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(testTimeout):
			t.Error("Run did not return after cancel")
		}
	})
	return cancel
}

// nextLine waits for the next received line, skipping relay warnings.
func nextLine(t testing.TB, c *Client) string {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		select {
		case l, ok := <-c.Lines():
			if !ok {
				t.Fatal("Lines closed")
			}
			if strings.HasPrefix(string(l), "Warning:") {
				continue
			}
			return string(l)
		case <-timeout:
			t.Fatal("no line received")
		}
	}
}

func TestClientAnnouncesOnConnectAndExchangesLines(t *testing.T) {
	s, _ := startServer(t, ServerConfig{})
	announce := func(c **Client, name string) func() {
		return func() {
			if err := (*c).Send([]byte("hello from " + name + "\n")); err != nil {
				t.Errorf("Send from OnConnect: %v", err)
			}
		}
	}
	var a, b *Client
	a = NewClient(ClientConfig{Addr: s.Addr().String(), Logger: testLogger(t), OnConnect: announce(&a, "a")})
	runClient(t, a)
	connected(t, s, 1)
	// a's own announcement went out to nobody; b must not see it.
	eventually(t, "a's announcement at the relay", func() bool { return metricValue(t, s.metrics.linesIn) == 1 })
	b = NewClient(ClientConfig{Addr: s.Addr().String(), Logger: testLogger(t), OnConnect: announce(&b, "b")})
	runClient(t, b)

	addr, content, ok := splitWrapper(nextLine(t, a) + "\n")
	if !ok || content != "hello from b" || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("a got addr %q content %q", addr, content)
	}
	if err := a.Send([]byte("hi b\n")); err != nil {
		t.Fatal(err)
	}
	if _, content, _ := splitWrapper(nextLine(t, b) + "\n"); content != "hi b" {
		t.Fatalf("b got %q, want hi b", content)
	}
}

func TestClientReconnectsAfterRelayRestart(t *testing.T) {
	first, stopFirst := startServer(t, ServerConfig{})
	addr := first.Addr().String()
	var connects atomic.Int32
	c := NewClient(ClientConfig{Addr: addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Logger: testLogger(t), OnConnect: func() { connects.Add(1) }})
	runClient(t, c)
	connected(t, first, 1)
	stopFirst()

	// The client keeps retrying while nothing listens, then finds the new
	// relay on the same address.
	time.Sleep(100 * time.Millisecond)
	second, _ := startServer(t, ServerConfig{Listen: addr})
	connected(t, second, 1)
	eventually(t, "OnConnect after the reconnect", func() bool { return connects.Load() == 2 })
	if got := c.Stats().Connects; got != 2 {
		t.Errorf("Stats().Connects = %d, want 2", got)
	}
	peer := dialRaw(t, second.Addr())
	connected(t, second, 2)
	peer.send("after restart\n")
	if _, content, _ := splitWrapper(nextLine(t, c) + "\n"); content != "after restart" {
		t.Errorf("got %q after reconnect", content)
	}
	if err := c.Send([]byte("still here\n")); err != nil {
		t.Fatal(err)
	}
	if _, content, _ := splitWrapper(peer.mustReadLine()); content != "still here" {
		t.Errorf("peer got %q", content)
	}
}

func TestClientSendRejectsBadLinesAndFullQueue(t *testing.T) {
	c := NewClient(ClientConfig{Addr: "127.0.0.1:1", SendQueue: 1})
	tests := []struct {
		name string
		line string
		want error
	}{
		{"missing newline", "abc", ErrBadLine},
		{"empty", "", ErrBadLine},
		{"embedded newline", "a\nb\n", ErrBadLine},
		{"fits the queue", "ok\n", nil},
		{"queue of one is full", "more\n", ErrQueueFull},
	}
	for _, tt := range tests {
		if err := c.Send([]byte(tt.line)); !errors.Is(err, tt.want) {
			t.Errorf("%s: Send = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestClientAfterRunReturnsIsClosed(t *testing.T) {
	c := NewClient(ClientConfig{Addr: "127.0.0.1:1", MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Logger: testLogger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil on cancellation", err)
	}
	if err := c.Send([]byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Run = %v, want ErrClosed", err)
	}
	if _, ok := <-c.Lines(); ok {
		t.Error("Lines still open after Run returned")
	}
	if err := c.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestClientDropsOversizedRelayedLinesAndKeepsReading(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = nc.Write([]byte(strings.Repeat("x", 100) + "\nshort\n"))
		time.Sleep(testTimeout)
	}()
	c := NewClient(ClientConfig{Addr: ln.Addr().String(), MaxLine: 16, Logger: testLogger(t)})
	runClient(t, c)
	if got := nextLine(t, c); got != "short" {
		t.Errorf("got %q, want short", got)
	}
	if got := c.Stats().LinesTooLong; got != 1 {
		t.Errorf("LinesTooLong = %d, want 1", got)
	}
}

func TestBackoffGrowsExponentiallyWithinJitterBounds(t *testing.T) {
	const minD, maxD = 100 * time.Millisecond, 2 * time.Second
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{{0, 100 * time.Millisecond}, {1, 200 * time.Millisecond}, {3, 800 * time.Millisecond}, {5, maxD}, {1000, maxD}}
	for _, tt := range tests {
		for range 200 {
			d := backoff(tt.attempt, minD, maxD)
			if d < tt.ceiling/2 || d > tt.ceiling {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", tt.attempt, d, tt.ceiling/2, tt.ceiling)
			}
		}
	}
}

package relay

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookLog records OnConnect and OnDisconnect calls in order.
type hookLog struct {
	mu     sync.Mutex
	events []string
	errs   []error
	notify chan struct{}
}

func newHookLog() *hookLog { return &hookLog{notify: make(chan struct{}, 64)} }

func (h *hookLog) record(ev string, err error) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

func (h *hookLog) config(addr string, minB, maxB time.Duration, t testing.TB) ClientConfig {
	return ClientConfig{Addr: addr, MinBackoff: minB, MaxBackoff: maxB, Logger: testLogger(t),
		OnConnect:    func() { h.record("connect", nil) },
		OnDisconnect: func(err error) { h.record("disconnect", err) }}
}

func (h *hookLog) snapshot() ([]string, []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...), append([]error(nil), h.errs...)
}

// waitEvents waits until n hook calls were recorded.
func (h *hookLog) waitEvents(t testing.TB, n int) {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		if ev, _ := h.snapshot(); len(ev) >= n {
			return
		}
		select {
		case <-h.notify:
		case <-timeout:
			ev, _ := h.snapshot()
			t.Fatalf("hook calls = %v, want at least %d", ev, n)
		}
	}
}

// runUntil starts c.Run and returns a stop that cancels it and waits for
// Run to return, so every hook call has happened by then.
func runUntil(t testing.TB, c *Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
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
	}
	t.Cleanup(stop)
	return stop
}

// relayThatHangsUp accepts connections on 127.0.0.1 and closes the first
// drop of them at once; later ones stay open until the test ends.
func relayThatHangsUp(t testing.TB, drop int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var kept []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range kept {
			nc.Close()
		}
	})
	go func() {
		for i := 0; i < drop+8; i++ { // bounded: the client never dials this often here
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if i < drop {
				nc.Close()
				continue
			}
			mu.Lock()
			kept = append(kept, nc)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

func TestClientOnDisconnectRunsBeforeTheReconnectBackoff(t *testing.T) {
	h := newHookLog()
	// An hour of backoff: the hook can only have run if it runs first.
	c := NewClient(h.config(relayThatHangsUp(t, 1), time.Hour, time.Hour, t))
	stop := runUntil(t, c)
	h.waitEvents(t, 2)
	stop()
	events, errs := h.snapshot()
	if strings.Join(events, ",") != "connect,disconnect" {
		t.Fatalf("hook calls = %v, want connect,disconnect", events)
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "relay closed the connection") {
		t.Errorf("OnDisconnect err = %v, want the relay hang-up", errs[1])
	}
}

func TestClientOnDisconnectPairsEveryConnect(t *testing.T) {
	h := newHookLog()
	c := NewClient(h.config(relayThatHangsUp(t, 2), time.Millisecond, 5*time.Millisecond, t))
	stop := runUntil(t, c)
	h.waitEvents(t, 5) // two dropped sessions, then one that stays up
	stop()
	events, errs := h.snapshot()
	want := []string{"connect", "disconnect", "connect", "disconnect", "connect", "disconnect"}
	if strings.Join(events, ",") != strings.Join(want, ",") {
		t.Fatalf("hook calls = %v, want %v", events, want)
	}
	for i, wantErr := range []bool{false, true, false, true, false, false} {
		if (errs[i] != nil) != wantErr {
			t.Errorf("call %d (%s): err = %v, want error %v", i, events[i], errs[i], wantErr)
		}
	}
	if got := c.Stats().Connects; got != 3 {
		t.Errorf("Stats().Connects = %d, want 3", got)
	}
}

func TestClientOnDisconnectIsNotCalledForFailedDials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial is refused
	h := newHookLog()
	c := NewClient(h.config(addr, time.Millisecond, 2*time.Millisecond, t))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if events, _ := h.snapshot(); len(events) != 0 {
		t.Errorf("hook calls = %v for refused dials, want none", events)
	}
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hsfleet/hsfleet/relay"
)

func TestReadyzReportsRelayAndDatabaseState(t *testing.T) {
	tests := []struct {
		name           string
		relayUp, dbOK  bool
		wantCode       int
		wantBodyPrefix string
	}{
		{"ready when relay up and database healthy", true, true, http.StatusOK, "ok"},
		{"not ready while the relay connection is down", false, true, http.StatusServiceUnavailable, "not connected to the relay"},
		{"not ready while the database is unreachable", true, false, http.StatusServiceUnavailable, "database unreachable"},
		{"relay named first when both are down", false, false, http.StatusServiceUnavailable, "not connected to the relay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := readyzHandler(func() bool { return tc.relayUp }, func() bool { return tc.dbOK })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tc.wantCode || !strings.HasPrefix(rec.Body.String(), tc.wantBodyPrefix) {
				t.Errorf("readyz = %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantCode, tc.wantBodyPrefix)
			}
		})
	}
}

func TestRelayLinkFollowsConnectAndDisconnect(t *testing.T) {
	l := newRelayLink("127.0.0.1:1", slog.New(slog.DiscardHandler))
	steps := []struct {
		name        string
		do          func()
		wantUp      bool
		wantGauge   float64
		disconnects float64
	}{
		{"down before the first connect", func() {}, false, 0, 0},
		{"up after connect", l.onConnect, true, 1, 0},
		{"down after the relay hangs up", func() { l.onDisconnect(errors.New("relay closed the connection")) }, false, 0, 1},
		{"up again after reconnect", l.onConnect, true, 1, 1},
		{"down at shutdown", func() { l.onDisconnect(nil) }, false, 0, 2},
	}
	for _, s := range steps {
		s.do()
		if l.Up() != s.wantUp || metricValue(t, l.connected) != s.wantGauge || metricValue(t, l.disconnects) != s.disconnects {
			t.Errorf("%s: Up=%v gauge=%v disconnects=%v, want %v %v %v", s.name, l.Up(),
				metricValue(t, l.connected), metricValue(t, l.disconnects), s.wantUp, s.wantGauge, s.disconnects)
		}
	}
}

// metricValue reads a gauge or counter.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

// startRelay runs a relay on addr (127.0.0.1:0 for a fresh port) until the
// returned stop is called.
func startRelay(t *testing.T, addr string) (*relay.Server, func()) {
	t.Helper()
	srv, err := relay.NewServer(relay.ServerConfig{Listen: addr, ShutdownTimeout: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("relay did not stop within 10s")
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// waitReadyz polls /readyz until it answers code with a body starting with
// prefix.
func waitReadyz(t *testing.T, httpAddr string, code int, prefix, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, body := httpGet("http://" + httpAddr + "/readyz")
		if got == code && strings.HasPrefix(body, prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: readyz = %d %q after 15s, want %d %q", what, got, body, code, prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentReadyzFollowsTheRelayConnection(t *testing.T) {
	srv, stopRelay := startRelay(t, "127.0.0.1:0")
	relayAddr := srv.Addr().String()
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runAgent(ctx, []string{"--name", "alice", "--relay", relayAddr,
			"--db", "sqlite:" + filepath.Join(dir, "alice.db"),
			"--identity", filepath.Join(dir, "id_agent_alice.json"), "--create-identity",
			"--http-listen", httpAddr, "--log-level", "error", "--register-interval", "100ms"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent exited with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("agent did not shut down within 10s")
		}
	})

	waitReadyz(t, httpAddr, http.StatusOK, "ok", "relay up")
	stopRelay()
	waitReadyz(t, httpAddr, http.StatusServiceUnavailable, "not connected to the relay", "relay stopped")
	if _, metrics := httpGet("http://" + httpAddr + "/metrics"); !strings.Contains(metrics, "hsfleet_agent_relay_connected 0") {
		t.Error("/metrics does not show hsfleet_agent_relay_connected 0 while the relay is down")
	}
	startRelay(t, relayAddr) // same address: the client's reconnect finds it
	waitReadyz(t, httpAddr, http.StatusOK, "ok", "relay back")
	_, metrics := httpGet("http://" + httpAddr + "/metrics")
	if !strings.Contains(metrics, "hsfleet_agent_relay_connected 1") || !strings.Contains(metrics, "hsfleet_agent_relay_disconnects_total 1") {
		t.Errorf("/metrics after reconnect lacks connected 1 / disconnects_total 1:\n%s", grepLines(metrics, "hsfleet_agent_relay_"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

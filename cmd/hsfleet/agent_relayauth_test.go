package main

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/agent/wire"
	"github.com/hsfleet/hsfleet/internal/pyrelay"
	"github.com/hsfleet/hsfleet/relay"
)

// fleetFiles writes a sealed identity file per name and one trust bundle
// holding all of them; it returns the identities and the bundle path.
func fleetFiles(t *testing.T, dir string, names ...string) ([]*crypto.Identity, string) {
	t.Helper()
	bundle := trust.Bundle{}
	var ids []*crypto.Identity
	for _, name := range names {
		id, err := crypto.NewIdentity(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := crypto.CreateIdentityFile(filepath.Join(dir, "id_agent_"+name+".json"), id, crypto.DefaultPassphrase(name)); err != nil {
			t.Fatal(err)
		}
		bundle[id.ID] = id.SignPub()
		ids = append(ids, id)
	}
	data, err := bundle.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return ids, path
}

// startAgentCmd runs `hsfleet agent` for name (identity from fleetFiles)
// against relayAddr until the test ends, and returns its HTTP address.
// The agent must not exit on its own.
func startAgentCmd(t *testing.T, dir, name, relayAddr string, extra ...string) string {
	t.Helper()
	httpAddr := freeAddr(t)
	args := append([]string{"--name", name, "--relay", relayAddr,
		"--db", "sqlite:" + filepath.Join(dir, name+".db"),
		"--identity", filepath.Join(dir, "id_agent_"+name+".json"),
		"--http-listen", httpAddr, "--log-level", "error", "--register-interval", "100ms"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var exited atomic.Bool
	go func() { done <- runAgent(ctx, args); exited.Store(true) }()
	t.Cleanup(func() {
		if exited.Load() {
			t.Errorf("agent %s exited before the test ended", name)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent %s exited with %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("agent %s did not shut down within 10s", name)
		}
	})
	return httpAddr
}

// waitMetric polls an agent's /metrics until re matches with a value of at
// least min, and returns that value.
func waitMetric(t *testing.T, httpAddr string, re *regexp.Regexp, min float64, within time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, body := httpGet("http://" + httpAddr + "/metrics")
		if m := re.FindStringSubmatch(body); m != nil {
			if v, _ := strconv.ParseFloat(m[1], 64); v >= min {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s >= %v within %s:\n%s", httpAddr, re, min, within, grepLines(body, "hsfleet_agent_relay_"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relayMetric sums a relay metric family (every label set) from reg.
func relayMetric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

var (
	authenticatedMetric = regexp.MustCompile(`(?m)^hsfleet_agent_relay_authenticated (\S+)$`)
	connectedMetric     = regexp.MustCompile(`(?m)^hsfleet_agent_relay_connected (\S+)$`)
)

func authFailuresMetric(result string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^hsfleet_agent_relay_auth_failures_total\{result="` + result + `"\} (\S+)$`)
}

// Two agents in the relay's bundle authenticate with the default
// --relay-auth (auto), and their conversation goes to each other only: an
// eavesdropping client on the same relay sees their register broadcasts
// but none of their directed lines.
func TestAgentsAuthenticateAndGetDirectedDelivery(t *testing.T) {
	dir := t.TempDir()
	_, bundle := fleetFiles(t, dir, "alice", "bob")
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0", TrustBundle: bundle, DirectedRouting: true,
		ShutdownTimeout: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })

	spy, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spy.Close() })
	var spied, spiedDirected atomic.Int64
	go func() {
		sc := bufio.NewScanner(spy)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			in, err := wire.Decode(sc.Bytes(), wire.Limits{})
			if err != nil || in.Kind != wire.KindMessage {
				continue
			}
			spied.Add(1)
			if to, _, _ := wire.StringField(in.Payload, "to"); to != "" {
				spiedDirected.Add(1)
			}
		}
	}()

	var https []string
	for _, name := range []string{"alice", "bob"} {
		https = append(https, startAgentCmd(t, dir, name, srv.Addr().String(), "--trust-bundle", bundle))
	}
	for _, h := range https {
		waitMetric(t, h, authenticatedMetric, 1, 15*time.Second)
		waitMetric(t, h, cyclesMetric, 2, 30*time.Second)
	}
	if got := relayMetric(t, srv.Registry(), "hsfleet_relay_connections_authenticated"); got != 2 {
		t.Errorf("relay connections_authenticated = %v, want 2", got)
	}
	if got := relayMetric(t, srv.Registry(), "hsfleet_relay_lines_directed_total"); got == 0 {
		t.Error("relay delivered no line by directed routing")
	}
	if spied.Load() == 0 {
		t.Error("the eavesdropper saw no register broadcast at all")
	}
	if n := spiedDirected.Load(); n != 0 {
		t.Errorf("the eavesdropper received %d directed lines meant for alice or bob", n)
	}
}

// --relay-auth=required against a relay without a trust bundle: the agent
// does not talk to it, says why (log and
// hsfleet_agent_relay_auth_failures_total{result="unavailable"}), keeps
// redialling and stays up, not ready.
func TestAgentRelayAuthRequiredFailsClearlyAndKeepsRetrying(t *testing.T) {
	srv, _ := startRelay(t, "127.0.0.1:0")
	dir := t.TempDir()
	_, bundle := fleetFiles(t, dir, "alice")
	h := startAgentCmd(t, dir, "alice", srv.Addr().String(), "--trust-bundle", bundle, "--relay-auth", "required")
	waitMetric(t, h, authFailuresMetric("unavailable"), 2, 15*time.Second)
	if code, body := httpGet("http://" + h + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d %q while the relay cannot authenticate it, want 503", code, body)
	}
	_, body := httpGet("http://" + h + "/metrics")
	if m := connectedMetric.FindStringSubmatch(body); m == nil || m[1] != "0" {
		t.Errorf("agent reports a relay connection it must not use:\n%s", grepLines(body, "hsfleet_agent_relay_"))
	}
}

// The default (auto) against the reference Python relay, which does not
// speak the protocol: after the client's timeout the agent goes on
// unauthenticated (no_answer) and is connected and ready.
func TestAgentRelayAuthAutoGoesOnAgainstPythonRelay(t *testing.T) {
	addr := pyrelay.Start(t)
	dir := t.TempDir()
	_, bundle := fleetFiles(t, dir, "alice")
	h := startAgentCmd(t, dir, "alice", addr, "--trust-bundle", bundle)
	waitMetric(t, h, authFailuresMetric("no_answer"), 1, 15*time.Second)
	waitReadyz(t, h, http.StatusOK, "ok", "unauthenticated on the Python relay")
	_, body := httpGet("http://" + h + "/metrics")
	if m := authenticatedMetric.FindStringSubmatch(body); m == nil || m[1] != "0" {
		t.Errorf("agent claims to be authenticated to the Python relay:\n%s", grepLines(body, "hsfleet_agent_relay_"))
	}
}

func TestAgentRejectsUnknownRelayAuthMode(t *testing.T) {
	err := runAgent(context.Background(), []string{"--name", "a", "--db", "sqlite::memory:", "--relay-auth", "sometimes"})
	if err != errUsage {
		t.Fatalf("--relay-auth sometimes: %v, want a usage error", err)
	}
}

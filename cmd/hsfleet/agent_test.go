package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/relay"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var cyclesMetric = regexp.MustCompile(`hsfleet_agent_cycles_total\{role="responder",verified="true"\} (\d+)`)

func TestAgentCommandCyclesServesProbesAndShutsDownGracefully(t *testing.T) {
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go srv.Serve(rctx)

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var https []string
	done := make(chan error, 2)
	for _, name := range []string{"alice", "bob"} {
		h := freeAddr(t)
		https = append(https, h)
		args := []string{"--name", name, "--relay", srv.Addr().String(),
			"--db", "sqlite:" + filepath.Join(dir, name+".db"),
			"--identity", filepath.Join(dir, "id_agent_"+name+".json"), "--create-identity",
			"--http-listen", h, "--log-level", "error", "--register-interval", "100ms"}
		go func() { done <- runAgent(ctx, args) }()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := httpGet("http://" + https[0] + "/readyz")
		_, metrics := httpGet("http://" + https[0] + "/metrics")
		if m := cyclesMetric.FindStringSubmatch(metrics); code == http.StatusOK && m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready agent with 2 cycles in 15s (readyz %d)", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := httpGet("http://" + https[1] + "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "id_agent_alice.json")); err != nil {
		t.Fatalf("--create-identity did not write the file: %v", err)
	}
	cancel()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("agent exited with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("agent did not shut down within 10s")
		}
	}
}

func TestAgentCommandRefusesFleetModeWithoutBundle(t *testing.T) {
	o := &agentOptions{name: "a", trustMode: "fleet"}
	if _, err := agentPolicy(o, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("fleet mode without --trust-bundle accepted")
	}
	o = &agentOptions{name: "a", trustBundle: filepath.Join(t.TempDir(), "missing.json")}
	p, err := agentPolicy(o, slog.New(slog.DiscardHandler))
	if err != nil || p.Mode() != "fleet" {
		t.Fatalf("--trust-bundle alone must select fleet mode: %v %v", p, err)
	}
}

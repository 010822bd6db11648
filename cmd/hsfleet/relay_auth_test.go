package main

import (
	"bufio"
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
)

func TestRelayAuthFlags(t *testing.T) {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	cfg, _, _ := relayFlags(fs)
	if err := fs.Parse([]string{"--trust-bundle", "/b.json"}); err != nil {
		t.Fatal(err)
	}
	if cfg.TrustBundle != "/b.json" || cfg.RequireAuth || cfg.AuthTimeout != relay.DefaultAuthTimeout {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, args := range [][]string{{"--allow-unauthenticated=false"}, {"--allow-unauthenticated=0"}} {
		fs := flag.NewFlagSet("relay", flag.ContinueOnError)
		cfg, _, _ := relayFlags(fs)
		if err := fs.Parse(args); err != nil || !cfg.RequireAuth {
			t.Fatalf("%q: require auth %v, err %v", args, cfg.RequireAuth, err)
		}
	}
	fs = flag.NewFlagSet("relay", flag.ContinueOnError)
	cfg, _, _ = relayFlags(fs)
	if err := fs.Parse([]string{"--allow-unauthenticated"}); err != nil || cfg.RequireAuth {
		t.Fatalf("bare flag: require auth %v, err %v", cfg.RequireAuth, err)
	}
}

func TestRelayDirectedRoutingDefaultsOnWithATrustBundle(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want bool
	}{
		{"no bundle: broadcast", nil, "", false},
		{"bundle: directed", []string{"--trust-bundle", "/b.json"}, "", true},
		{"bundle, flag off: broadcast", []string{"--trust-bundle", "/b.json", "--directed-routing=false"}, "", false},
		{"bundle, env off: broadcast", []string{"--trust-bundle", "/b.json"}, "false", false},
		{"no bundle, flag on: directed (learned IDs)", []string{"--directed-routing"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("HSFLEET_DIRECTED_ROUTING", tc.env)
			}
			fs := flag.NewFlagSet("relay", flag.ContinueOnError)
			cfg, _, _ := relayFlags(fs)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			defaultDirectedRouting(fs, cfg)
			if cfg.DirectedRouting != tc.want {
				t.Errorf("directed routing %v, want %v", cfg.DirectedRouting, tc.want)
			}
		})
	}
}

func TestRelayClientAuthModes(t *testing.T) {
	id, err := crypto.NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[string]string{"": "auto", "auto": "auto", "required": "required", "off": "off"} {
		a, err := relayClientAuth(mode, id)
		switch {
		case err != nil:
			t.Errorf("%q: %v", mode, err)
		case want == "off" && a != nil, want != "off" && (a == nil || a.ID != id.ID || a.Required != (want == "required")):
			t.Errorf("%q: got %+v", mode, a)
		}
	}
	if _, err := relayClientAuth("sometimes", id); err == nil {
		t.Error("accepted an unknown mode")
	}
}

// `hsfleet relay --trust-bundle` with HSFLEET_ALLOW_UNAUTHENTICATED=false:
// an agent identity authenticates through the agent's client settings, a
// client that does not is refused.
func TestRelayCommandRequiresAuthentication(t *testing.T) {
	id, err := crypto.NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	data, err := trust.Bundle{id.ID: id.SignPub()}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(bundle, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("HSFLEET_ALLOW_UNAUTHENTICATED", "false")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runRelay(ctx, []string{"--listen", addr, "--log-level", "error", "--trust-bundle", bundle})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	}()

	auth, err := relayClientAuth(relayAuthRequired, id)
	if err != nil {
		t.Fatal(err)
	}
	link := newRelayLink(addr, slog.New(slog.DiscardHandler))
	c := relay.NewClient(relay.ClientConfig{Addr: addr, Auth: auth, OnAuth: link.onAuth, MinBackoff: 10 * time.Millisecond,
		OnConnect: link.onConnect, OnDisconnect: link.onDisconnect})
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan error, 1)
	go func() { cdone <- c.Run(cctx) }()
	defer func() { ccancel(); <-cdone }()
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().AuthOK == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Stats().AuthOK == 0 || !link.Up() {
		t.Fatalf("agent never authenticated: %+v", c.Stats())
	}

	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, _ = plain.Write([]byte(`{"_version": "1.3.0", "_payload": {"from": "py"}, "_type": {}}` + "\n"))
	_ = plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := bufio.NewReader(plain).ReadString('\n'); got != relay.WarnAuthRequired {
		t.Fatalf("plain client got %q, want %q", got, relay.WarnAuthRequired)
	}
}

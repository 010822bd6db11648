package main

import (
	"flag"
	"log/slog"
	"testing"
)

func TestRelayTrustSourceFlag(t *testing.T) {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	cfg, _, _ := relayFlags(fs)
	if err := parseFlags(fs, []string{"--trust-source", "api"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.TrustSource.(pendingAPITrustSource); !ok {
		t.Fatalf("--trust-source=api: source %T", cfg.TrustSource)
	}
	defaultDirectedRouting(fs, cfg)
	if !cfg.DirectedRouting {
		t.Error("directed routing not on by default with the API source")
	}

	fs = flag.NewFlagSet("relay", flag.ContinueOnError)
	if _, _, _ = relayFlags(fs); parseFlags(fs, []string{"--trust-source", "etcd"}) == nil {
		t.Error("accepted an unknown trust source")
	}

	fs = flag.NewFlagSet("relay", flag.ContinueOnError)
	cfg, _, _ = relayFlags(fs)
	if err := parseFlags(fs, []string{"--trust-source", "api", "--trust-bundle", "/b.json"}); err != nil {
		t.Fatal(err)
	}
	if resolveTrustSource(cfg, slog.New(slog.DiscardHandler)) == nil {
		t.Error("--trust-source=api with --trust-bundle accepted")
	}
}

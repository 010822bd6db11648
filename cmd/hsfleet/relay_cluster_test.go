package main

import (
	"flag"
	"slices"
	"testing"
)

func TestRelayClusterFlags(t *testing.T) {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	cfg, _, _ := relayFlags(fs)
	err := fs.Parse([]string{"--cluster-listen", "0.0.0.0:6222", "--cluster-routes",
		"nats-route://relay-0.relay:6222, nats-route://relay-1.relay:6222,", "--cluster-name", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nats-route://relay-0.relay:6222", "nats-route://relay-1.relay:6222"}
	if cfg.Cluster.Listen != "0.0.0.0:6222" || cfg.Cluster.Name != "prod" || !slices.Equal(cfg.Cluster.Routes, want) {
		t.Fatalf("cluster config %+v", cfg.Cluster)
	}
}

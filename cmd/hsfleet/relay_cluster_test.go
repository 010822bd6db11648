package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/relay"
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

func TestRelayClusterPresencePeriodFromFlagOrEnvironment(t *testing.T) {
	parse := func(args ...string) (*relay.ServerConfig, error) {
		fs := flag.NewFlagSet("relay", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, _, _ := relayFlags(fs)
		return cfg, parseFlags(fs, args)
	}
	cfg, err := parse()
	if err != nil || cfg.Cluster.PresencePeriod != relay.DefaultPresencePeriod {
		t.Fatalf("default: period %v, error %v; want %v", cfg.Cluster.PresencePeriod, err, relay.DefaultPresencePeriod)
	}
	if cfg, err = parse("--cluster-presence-period", "2s"); err != nil || cfg.Cluster.PresencePeriod != 2*time.Second {
		t.Fatalf("flag 2s: period %v, error %v", cfg.Cluster.PresencePeriod, err)
	}
	t.Setenv("HSFLEET_CLUSTER_PRESENCE_PERIOD", "1m")
	if cfg, err = parse(); err != nil || cfg.Cluster.PresencePeriod != time.Minute {
		t.Fatalf("env 1m: period %v, error %v", cfg.Cluster.PresencePeriod, err)
	}
	if cfg, err = parse("--cluster-presence-period", "1s"); err != nil || cfg.Cluster.PresencePeriod != time.Second {
		t.Fatalf("flag 1s over env 1m: period %v, error %v", cfg.Cluster.PresencePeriod, err)
	}
}

func TestRelayClusterPresencePeriodOutOfRangeIsRefusedNamingTheRange(t *testing.T) {
	for _, v := range []string{"0s", "999ms", "61s", "-5s", "5"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("HSFLEET_CLUSTER_PRESENCE_PERIOD", v)
			fs := flag.NewFlagSet("relay", flag.ContinueOnError)
			relayFlags(fs)
			err := parseFlags(fs, nil)
			if err == nil {
				t.Fatalf("HSFLEET_CLUSTER_PRESENCE_PERIOD=%s accepted", v)
			}
			if !strings.Contains(err.Error(), "HSFLEET_CLUSTER_PRESENCE_PERIOD") {
				t.Errorf("error does not name the variable: %v", err)
			}
			if v != "5" && !strings.Contains(err.Error(), "outside 1s..1m0s") {
				t.Errorf("error does not name the range: %v", err)
			}
			// The same value on the command line fails the same way.
			fs = flag.NewFlagSet("relay", flag.ContinueOnError)
			var out strings.Builder
			fs.SetOutput(&out)
			relayFlags(fs)
			if err := fs.Parse([]string{"--cluster-presence-period", v}); err == nil {
				t.Fatalf("--cluster-presence-period %s accepted", v)
			} else if v != "5" && !strings.Contains(err.Error(), "outside 1s..1m0s") {
				t.Errorf("flag error does not name the range: %v", err)
			}
		})
	}
}

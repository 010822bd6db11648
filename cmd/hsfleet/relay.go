package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/hsfleet/hsfleet/relay"
)

func init() {
	register(command{name: "relay", summary: "run the Summoner-compatible broadcast relay", run: runRelay})
}

// relayFlags binds every relay setting to a flag (and HSFLEET_<FLAG> env).
func relayFlags(fs *flag.FlagSet) (*relay.ServerConfig, *string, *string) {
	cfg := &relay.ServerConfig{}
	fs.Func("trust-source", "where the trust bundle comes from: file (--trust-bundle) or api (every namespace's operator-managed hsfleet-trust ConfigMap, "+
		"read through the Kubernetes API; needs get/list/watch on configmaps cluster-wide; see docs/relay-auth.md)", func(v string) error {
		switch v {
		case "file", "":
			cfg.TrustSource = nil
		case "api":
			cfg.TrustSource = pendingAPITrustSource{}
		default:
			return fmt.Errorf("trust source %q: want file or api", v)
		}
		return nil
	})
	fs.StringVar(&cfg.Listen, "listen", relay.DefaultListen, "TCP address agents connect to")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "HTTP address for /healthz, /readyz and /metrics (empty: off)")
	fs.IntVar(&cfg.MaxLine, "max-line", relay.DefaultMaxLine, "longest accepted line in bytes; longer lines are dropped with a warning")
	fs.IntVar(&cfg.QueueBytes, "queue-bytes", relay.DefaultQueueBytes, "per-client outbound queue; a client that overflows it is disconnected as too slow")
	fs.IntVar(&cfg.StallBytes, "stall-bytes", relay.DefaultStallBytes, "per-client queue depth past which senders briefly wait for that client (backpressure)")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", relay.DefaultWriteTimeout, "longest one batched write to a client may take")
	fs.DurationVar(&cfg.StallTimeout, "stall-timeout", relay.DefaultStallTimeout, "longest a sender waits, per line, for a lagging but draining recipient (negative: never)")
	fs.DurationVar(&cfg.StuckTimeout, "stuck-timeout", relay.DefaultStuckTimeout, "a client whose socket write is blocked this long is no longer waited for (and soon disconnected)")
	fs.IntVar(&cfg.RateLimitPerMinute, "rate-limit-per-minute", 0, "lines per connection per fixed 60 s window, as the Rust server (0: off)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "disconnect clients silent for this long (0: off)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", relay.DefaultShutdownTimeout, "bound on draining clients after SIGTERM")
	fs.IntVar(&cfg.MaxConnections, "max-connections", 0, "maximum concurrent clients (0: no limit)")
	fs.IntVar(&cfg.SocketSendBuffer, "socket-send-buffer", 0, "SO_SNDBUF per client in bytes (0: kernel autotuning)")
	fs.BoolVar(&cfg.AllowPlainText, "allow-plain-text", false, "relay any UTF-8 line; by default only JSON objects a Summoner (Python) client can parse are relayed (turn on for plain-text Summoner apps)")
	fs.IntVar(&cfg.MaxRelayedLine, "max-relayed-line", relay.DefaultMaxRelayedLine, "longest line sent to a client, wrapper and newline included (the Python client's limit); longer ones are dropped with a warning (negative: no cap)")
	fs.BoolVar(&cfg.DirectedRouting, "directed-routing", false, "deliver lines whose payload \"to\" names a known client id only to that client "+
		"(default: on with --trust-bundle, where only IDs a client proved are routed; off without, where IDs are learned from lines; see docs/relay-auth.md)")
	fs.StringVar(&cfg.TrustBundle, "trust-bundle", "", "fleet trust bundle file {agentID: base64 Ed25519 key} (the agents' --trust-bundle); turns on authenticated registration, reloaded when it changes (see docs/relay-auth.md)")
	fs.BoolFunc("allow-unauthenticated", "with --trust-bundle: serve clients that do not authenticate (Python agents) as broadcast clients that may not claim a bundle ID; false refuses them (default true)", func(v string) error {
		allow, err := strconv.ParseBool(v)
		cfg.RequireAuth = !allow
		return err
	})
	fs.DurationVar(&cfg.AuthTimeout, "auth-timeout", relay.DefaultAuthTimeout, "bound on an authentication handshake (and, without --allow-unauthenticated, on the wait for a client's first line)")
	fs.StringVar(&cfg.Cluster.Listen, "cluster-listen", "", "host:port for NATS routes from other relay replicas (empty: single relay, no NATS)")
	fs.StringVar(&cfg.Cluster.Name, "cluster-name", "hsfleet-relay", "NATS cluster name, the same on every replica")
	fs.StringVar(&cfg.Cluster.Advertise, "cluster-advertise", "", "host:port other replicas reach this one at (empty: the listen address)")
	fs.Func("cluster-routes", "comma-separated nats-route://host:port of other replicas (one reachable seed is enough)", func(v string) error {
		cfg.Cluster.Routes = nil
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				cfg.Cluster.Routes = append(cfg.Cluster.Routes, r)
			}
		}
		return nil
	})
	cfg.Cluster.PresencePeriod = relay.DefaultPresencePeriod
	fs.Var(boundedDuration{&cfg.Cluster.PresencePeriod, minPresencePeriod, maxPresencePeriod}, "cluster-presence-period",
		"`duration` between a replica's re-announces of the agent IDs proven on it to the other replicas, which forget them after 3 periods without one "+
			"(1s..1m; shorter: a new or restarted replica's view and a dead replica's expiry converge sooner, for more bus traffic)")
	fs.IntVar(&cfg.Cluster.PendingBytes, "cluster-pending-bytes", relay.DefaultClusterPendingBytes, "bound on lines from other replicas not yet queued to clients; past it they are dropped (counted)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "json", "json or text")
	return cfg, level, format
}

func runRelay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hsfleet relay [flags]\n\n"+
			"Summoner-compatible broadcast relay. Every flag can also be set as\n"+
			"HSFLEET_<FLAG> (upper case, dashes as underscores), e.g. HSFLEET_LISTEN.\n\n")
		fs.PrintDefaults()
	}
	cfg, level, format := relayFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	defaultDirectedRouting(fs, cfg)
	logger, err := newRelayLogger(*level, *format)
	if err != nil {
		return err
	}
	if err := resolveTrustSource(cfg, logger); err != nil {
		return err
	}
	srv, err := relay.NewServer(*cfg, logger)
	if err != nil {
		return err
	}
	return srv.Serve(ctx)
}

// defaultDirectedRouting turns directed routing on when the relay has a
// trust bundle and neither --directed-routing nor its environment variable
// was given: with a bundle only proven IDs are routed, so no client can
// take or blackhole another's directed traffic (docs/relay-auth.md).
// Without a bundle routing would trust the first claim of an ID, so it
// stays opt-in.
func defaultDirectedRouting(fs *flag.FlagSet, cfg *relay.ServerConfig) {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "directed-routing" })
	if !set && (cfg.TrustBundle != "" || cfg.TrustSource != nil) {
		cfg.DirectedRouting = true
	}
}

func newRelayLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want json or text", format)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/hsfleet/hsfleet/controllers"
	"github.com/hsfleet/hsfleet/internal/meshop"
)

func init() {
	register(command{name: "operator", summary: "run the HSAgent operator (controller manager)", run: runOperator})
}

type operatorFlags struct {
	metricsAddr, probeAddr                            string
	metricsSecure                                     bool
	leaderElect                                       bool
	leaderElectionNamespace                           string
	agentImage                                        string
	defaultRelay, defaultDBSecret, defaultDBSecretKey string
	watchNamespaces                                   string
	agentPullSecrets                                  string
	statusInterval                                    time.Duration
	handshakeWindow                                   time.Duration
	meshMaxPairSeries                                 int
	maxConcurrent                                     int
	logLevel                                          string
	fleet                                             operatorFleetFlags
}

func (f *operatorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "metrics endpoint address (\"0\" disables it)")
	fs.BoolVar(&f.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS behind Kubernetes authn/authz (use :8080 with false)")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader so only one replica reconciles")
	fs.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader lease (default: the pod's namespace)")
	fs.StringVar(&f.agentImage, "agent-image", "", "image of agent pods (required)")
	fs.StringVar(&f.agentPullSecrets, "agent-image-pull-secrets", "", "comma-separated namespace-local Secrets agent pods pull images with, unless spec.pod.imagePullSecrets is set")
	fs.StringVar(&f.defaultRelay, "default-relay", "", "relay HOST:PORT for HSAgents without spec.relay")
	fs.StringVar(&f.defaultDBSecret, "default-database-secret", "", "namespace-local Secret holding the DSN for HSAgents without spec.database")
	fs.StringVar(&f.defaultDBSecretKey, "default-database-secret-key", controllers.DatabaseDSNKey, "key of --default-database-secret holding the DSN (\"uri\" for a CNPG <cluster>-app Secret)")
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "", "comma-separated namespaces to manage (empty: all)")
	fs.DurationVar(&f.statusInterval, "status-interval", controllers.DefaultStatusInterval, "how often status is refreshed from the database")
	fs.DurationVar(&f.handshakeWindow, "handshake-window", controllers.DefaultHandshakeWindow, "Handshaking is True when a cycle completed within this window")
	fs.IntVar(&f.meshMaxPairSeries, "mesh-max-pair-series", meshop.DefaultMaxPairSeries,
		"per namespace, most stale pairs exported as hsfleet_mesh_pair_last_cycle_timestamp_seconds (oldest first)")
	fs.IntVar(&f.maxConcurrent, "max-concurrent-reconciles", 4, "HSAgents reconciled in parallel")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	f.fleet.register(fs)
}

func runOperator(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	var f operatorFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newOperatorLogger(f.logLevel)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logr.FromSlogHandler(logger.Handler()))

	cfg := controllers.Config{
		AgentImage:               f.agentImage,
		AgentImagePullSecrets:    splitList(f.agentPullSecrets),
		DefaultRelay:             f.defaultRelay,
		DefaultDatabaseSecret:    f.defaultDBSecret,
		DefaultDatabaseSecretKey: f.defaultDBSecretKey,
		StatusInterval:           f.statusInterval,
		HandshakeWindow:          f.handshakeWindow,
		MaxConcurrentReconciles:  f.maxConcurrent,
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w (--agent-image)", err)
	}
	if err := f.fleet.apply(&cfg); err != nil {
		return err
	}
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	opts := controllers.ManagerOptions{
		Namespaces:              splitList(f.watchNamespaces),
		MetricsAddr:             f.metricsAddr,
		ProbeAddr:               f.probeAddr,
		LeaderElect:             f.leaderElect,
		LeaderElectionNamespace: f.leaderElectionNamespace,
	}
	if f.metricsSecure {
		opts.MetricsFilter = metricsAuthFilter
	}
	op, err := controllers.NewOperator(restCfg, opts, cfg)
	if err != nil {
		return err
	}
	mgr, stores := op.Manager, op.Stores
	defer func() {
		if err := stores.Close(); err != nil {
			logger.Warn("closing database pools", "error", err)
		}
	}()
	// The mesh page and per-HSAgent metrics, behind the metrics server's auth.
	if err := meshop.Install(mgr, op.Mesh, f.meshMaxPairSeries, f.handshakeWindow, logger); err != nil {
		return err
	}
	logger.Info("starting operator", "namespaces", f.watchNamespaces, "leaderElect", f.leaderElect,
		"metrics", f.metricsAddr, "probes", f.probeAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	return nil
}

// splitList parses "a, b,,c" into [a b c].
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newOperatorLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

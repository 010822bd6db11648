package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/controllers"
)

func parseFleetFlags(t *testing.T, args ...string) (controllers.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f operatorFleetFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var cfg controllers.Config
	return cfg, f.apply(&cfg)
}

func TestOperatorFleetFlagsDefaultsAndOverrides(t *testing.T) {
	cfg, err := parseFleetFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent.CycleInterval != 10*time.Second || cfg.Agent.DatabaseMaxConns != 2 || cfg.StatusCounterInterval != time.Minute || cfg.DatabaseWorkers != 4 ||
		cfg.StateCleanupGrace != controllers.DefaultStateCleanupGrace ||
		cfg.Rotation.PropagationDelay != controllers.DefaultRotationPropagationDelay || cfg.Rotation.RetireGrace != controllers.DefaultRotationRetireGrace {
		t.Fatalf("defaults = %+v", cfg)
	}
	cfg, err = parseFleetFlags(t, "--agent-cycle-interval=0s", "--agent-max-active-cycles=16", "--agent-register-interval=2s",
		`--agent-resources={"limits":{"memory":"1Gi"}}`, "--finalizer-database-grace=90s",
		"--rotation-propagation-delay=20s", "--rotation-retire-grace=5s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent.CycleInterval != 0 || cfg.Agent.MaxActiveCycles != 16 || cfg.Agent.RegisterInterval != 2*time.Second ||
		cfg.Agent.Resources.Limits.Memory().String() != "1Gi" || cfg.StateCleanupGrace != 90*time.Second ||
		cfg.Rotation != (controllers.RotationConfig{PropagationDelay: 20 * time.Second, RetireGrace: 5 * time.Second}) {
		t.Fatalf("overrides = %+v", cfg)
	}
	if cfg, err = parseFleetFlags(t, "--state-cleanup-grace=3m"); err != nil || cfg.StateCleanupGrace != 3*time.Minute {
		t.Fatalf("deprecated --state-cleanup-grace: grace %s, err %v", cfg.StateCleanupGrace, err)
	}
	for _, bad := range [][]string{
		{"--finalizer-database-grace=0s"}, {"--state-cleanup-grace=-1s"},
		{"--agent-db-max-conns=0"}, {"--database-workers=0"}, {"--status-counter-interval=0s"},
		{"--agent-cycle-interval=-1s"}, {"--agent-resources={"}, {"--agent-max-active-cycles=5000"},
		{"--rotation-propagation-delay=0s"}, {"--rotation-retire-grace=-1s"},
	} {
		if _, err := parseFleetFlags(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/hsfleet/hsfleet/controllers"
)

// operatorFleetFlags are the operator's fleet-scale settings: the status
// cadence and the defaults of every agent's knobs (each overridable in an
// HSAgent's spec).
type operatorFleetFlags struct {
	counterInterval  time.Duration
	counterRate      float64
	databaseWorkers  int
	cycleInterval    time.Duration
	registerInterval time.Duration
	maxActiveCycles  int
	dbMaxConns       int
	agentResources   string
	cleanupGrace     time.Duration
	rotation         controllers.RotationConfig
}

func (f *operatorFleetFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.counterInterval, "status-counter-interval", controllers.DefaultStatusCounterInterval,
		"how often status follows cycle counters when nothing else changed")
	fs.Float64Var(&f.counterRate, "status-counter-rate", controllers.DefaultStatusCounterRate,
		"most counter-only status writes per second across all agents (meaningful changes are never held back)")
	fs.IntVar(&f.databaseWorkers, "database-workers", controllers.DefaultDatabaseWorkers,
		"status polls (one per database) running at once")
	fs.DurationVar(&f.cycleInterval, "agent-cycle-interval", controllers.DefaultAgentCycleInterval,
		"default spec.cycleInterval: pause between cycles per pair (0s: back to back)")
	fs.DurationVar(&f.registerInterval, "agent-register-interval", 0, "default spec.registerInterval (0: the agent's default)")
	fs.IntVar(&f.maxActiveCycles, "agent-max-active-cycles", 0, "default spec.maxActiveCycles (0: the agent's default)")
	fs.IntVar(&f.dbMaxConns, "agent-db-max-conns", controllers.DefaultAgentDBMaxConns, "default spec.databaseMaxConns: PostgreSQL connections per agent")
	fs.StringVar(&f.agentResources, "agent-resources", "",
		`default agent container resources as JSON, e.g. {"requests":{"cpu":"20m","memory":"48Mi"}} (empty: built-in default)`)
	fs.DurationVar(&f.cleanupGrace, "finalizer-database-grace", controllers.DefaultStateCleanupGrace,
		"how long an HSAgent's deletion retries deleting its rows from an unreachable database (or waits for its pod to stop) before removing the finalizer anyway and leaving the rows")
	fs.DurationVar(&f.rotation.PropagationDelay, "rotation-propagation-delay", controllers.DefaultRotationPropagationDelay,
		"how long the trust bundle lists an agent's old and new key before its pod switches to the new one (cover the kubelet's ConfigMap refresh)")
	fs.DurationVar(&f.rotation.RetireGrace, "rotation-retire-grace", controllers.DefaultRotationRetireGrace,
		"how long the old key stays trusted after the pod with the new key is ready")
	// Deprecated name of --finalizer-database-grace, kept so existing
	// installs (chart operator.stateCleanupGrace) keep working.
	fs.Func("state-cleanup-grace", "deprecated: use --finalizer-database-grace", func(v string) error {
		d, err := time.ParseDuration(v)
		f.cleanupGrace = d
		return err
	})
}

// apply validates the flags into cfg.
func (f *operatorFleetFlags) apply(cfg *controllers.Config) error {
	switch {
	case f.counterInterval <= 0:
		return fmt.Errorf("--status-counter-interval must be positive")
	case f.counterRate <= 0:
		return fmt.Errorf("--status-counter-rate must be positive")
	case f.databaseWorkers < 1:
		return fmt.Errorf("--database-workers must be at least 1")
	case f.cycleInterval < 0 || f.registerInterval < 0:
		return fmt.Errorf("--agent-cycle-interval and --agent-register-interval must not be negative")
	case f.maxActiveCycles < 0 || f.maxActiveCycles > 1024:
		return fmt.Errorf("--agent-max-active-cycles must be within 0..1024")
	case f.dbMaxConns < 1 || f.dbMaxConns > 64:
		return fmt.Errorf("--agent-db-max-conns must be within 1..64")
	case f.cleanupGrace <= 0:
		return fmt.Errorf("--finalizer-database-grace must be positive")
	case f.rotation.PropagationDelay <= 0 || f.rotation.RetireGrace <= 0:
		return fmt.Errorf("--rotation-propagation-delay and --rotation-retire-grace must be positive")
	}
	cfg.Rotation = f.rotation
	cfg.StateCleanupGrace = f.cleanupGrace
	cfg.StatusCounterInterval = f.counterInterval
	cfg.StatusCounterRate = f.counterRate
	cfg.DatabaseWorkers = f.databaseWorkers
	cfg.Agent = controllers.AgentDefaults{
		CycleInterval:    f.cycleInterval,
		RegisterInterval: f.registerInterval,
		MaxActiveCycles:  int32(f.maxActiveCycles),
		DatabaseMaxConns: int32(f.dbMaxConns),
	}
	if f.agentResources != "" {
		var res corev1.ResourceRequirements
		if err := json.Unmarshal([]byte(f.agentResources), &res); err != nil {
			return fmt.Errorf("--agent-resources: %w", err)
		}
		cfg.Agent.Resources = res
	}
	return nil
}

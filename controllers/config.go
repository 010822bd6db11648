package controllers

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Config is the operator-wide configuration, from `hsfleet operator` flags.
type Config struct {
	// AgentImage runs in every agent pod unless spec.pod.image overrides it.
	AgentImage string
	// AgentImagePullSecrets are the agent pods' pull secrets unless
	// spec.pod.imagePullSecrets lists its own.
	AgentImagePullSecrets []string
	// DefaultRelay is used when spec.relay is empty.
	DefaultRelay string
	// DefaultDatabaseSecret names the namespace-local Secret used when
	// spec.database is empty; DefaultDatabaseSecretKey is its DSN key
	// ("dsn" when empty; "uri" for a CNPG application Secret).
	DefaultDatabaseSecret    string
	DefaultDatabaseSecretKey string
	// StatusInterval is how often the status hub reads each database (one
	// query for all its agents).
	StatusInterval time.Duration
	// StatusCounterInterval is the coarse cadence at which status follows
	// counters (cycles, cycle times) when nothing else changed.
	StatusCounterInterval time.Duration
	// StatusCounterRate caps counter-only status refreshes per second
	// across all agents, so they never crowd out meaningful changes in the
	// API client's budget (QPS 20 by default); at 1,000 agents counters
	// then refresh every ~agents/rate seconds.
	StatusCounterRate float64
	// DatabaseWorkers bounds the status polls running at once (one per
	// database), so a slow database holds at most one of them.
	DatabaseWorkers int
	// HandshakeWindow: Handshaking is True when a cycle completed this recently.
	HandshakeWindow time.Duration
	// DatabaseTimeout bounds every database call of one reconcile.
	DatabaseTimeout time.Duration
	// StateCleanupGrace bounds how long deletion retries an unreachable
	// database before leaving the agent's rows behind.
	StateCleanupGrace time.Duration
	// MaxConcurrentReconciles of the HSAgent controller.
	MaxConcurrentReconciles int
	// Rotation times key rotations with overlap (rotation_config.go).
	Rotation RotationConfig

	// Agent defaults for HSAgents that do not set the field.
	Agent AgentDefaults
}

// AgentDefaults are the operator-wide agent knobs, each overridable per
// HSAgent in spec. A zero CycleInterval, RegisterInterval or
// MaxActiveCycles passes no flag (the agent's own default: back-to-back
// cycles, 1 s, 8); `hsfleet operator` sets CycleInterval to 10s unless told
// otherwise. DatabaseMaxConns defaults to 2, Resources to
// DefaultAgentResources.
type AgentDefaults struct {
	CycleInterval    time.Duration
	RegisterInterval time.Duration
	MaxActiveCycles  int32
	DatabaseMaxConns int32
	// Resources of agent containers without spec.pod.resources.
	Resources corev1.ResourceRequirements
}

// Defaults used for zero Config fields.
const (
	DefaultStatusInterval  = 15 * time.Second
	DefaultHandshakeWindow = 5 * time.Minute
	DefaultDatabaseTimeout = 5 * time.Second

	DefaultStatusCounterInterval = time.Minute
	DefaultStatusCounterRate     = 5.0
	DefaultDatabaseWorkers       = 4
	// DefaultAgentCycleInterval: a steady re-handshake cadence for a
	// production fleet; demos and benchmarks set spec.cycleInterval: 0s.
	DefaultAgentCycleInterval = 10 * time.Second
	DefaultAgentDBMaxConns    = 2
)

// DefaultAgentResources fit one agent of a fleet of a few hundred peers
// cycling every 10 s.
func DefaultAgentResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("20m"),
			corev1.ResourceMemory: resource.MustParse("48Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
}

func (c Config) withDefaults() Config {
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.HandshakeWindow <= 0 {
		c.HandshakeWindow = DefaultHandshakeWindow
	}
	if c.DatabaseTimeout <= 0 {
		c.DatabaseTimeout = DefaultDatabaseTimeout
	}
	if c.StateCleanupGrace <= 0 {
		c.StateCleanupGrace = DefaultStateCleanupGrace
	}
	if c.MaxConcurrentReconciles <= 0 {
		c.MaxConcurrentReconciles = 4
	}
	c.Rotation = c.Rotation.withDefaults()
	if c.StatusCounterInterval <= 0 {
		c.StatusCounterInterval = DefaultStatusCounterInterval
	}
	if c.StatusCounterRate <= 0 {
		c.StatusCounterRate = DefaultStatusCounterRate
	}
	if c.DatabaseWorkers <= 0 {
		c.DatabaseWorkers = DefaultDatabaseWorkers
	}
	if c.Agent.CycleInterval < 0 {
		c.Agent.CycleInterval = 0
	}
	if len(c.Agent.Resources.Requests) == 0 && len(c.Agent.Resources.Limits) == 0 {
		c.Agent.Resources = DefaultAgentResources()
	}
	if c.Agent.DatabaseMaxConns <= 0 {
		c.Agent.DatabaseMaxConns = DefaultAgentDBMaxConns
	}
	return c
}

// pollTimeout bounds one status poll. A fleet's summary reads every row of
// its database, which takes seconds for 1,000 agents on a busy server, so
// the deadline spans a few intervals; a poll still running when the next is
// due is skipped, never stacked.
func (c Config) pollTimeout() time.Duration {
	return max(c.DatabaseTimeout, 4*c.StatusInterval)
}

// Validate reports configuration the operator cannot run with.
func (c Config) Validate() error {
	if c.AgentImage == "" {
		return fmt.Errorf("agent image is required")
	}
	return nil
}

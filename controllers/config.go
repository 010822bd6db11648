package controllers

import (
	"fmt"
	"time"
)

// Config is the operator-wide configuration, from `hsfleet operator` flags.
type Config struct {
	// AgentImage runs in every agent pod unless spec.pod.image overrides it.
	AgentImage string
	// DefaultRelay is used when spec.relay is empty.
	DefaultRelay string
	// DefaultDatabaseSecret names the namespace-local Secret (key "dsn") used
	// when spec.database is empty.
	DefaultDatabaseSecret string
	// StatusInterval is the periodic requeue that refreshes status from the
	// database.
	StatusInterval time.Duration
	// HandshakeWindow: Handshaking is True when a cycle completed this recently.
	HandshakeWindow time.Duration
	// DatabaseTimeout bounds every database call of one reconcile.
	DatabaseTimeout time.Duration
	// StateCleanupGrace bounds how long deletion retries an unreachable
	// database before leaving the agent's rows behind.
	StateCleanupGrace time.Duration
	// MaxConcurrentReconciles of the HSAgent controller.
	MaxConcurrentReconciles int
}

// Defaults used for zero Config fields.
const (
	DefaultStatusInterval  = 15 * time.Second
	DefaultHandshakeWindow = 5 * time.Minute
	DefaultDatabaseTimeout = 5 * time.Second
)

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
	return c
}

// Validate reports configuration the operator cannot run with.
func (c Config) Validate() error {
	if c.AgentImage == "" {
		return fmt.Errorf("agent image is required")
	}
	return nil
}

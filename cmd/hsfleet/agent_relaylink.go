package main

import (
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// relayLink tracks whether the agent's relay connection is up right now:
// /readyz reports not ready while it is down, so a Service or a rollout
// does not count an agent that cannot hear the fleet.
type relayLink struct {
	addr        string
	log         *slog.Logger
	up          atomic.Bool
	connected   prometheus.Gauge
	disconnects prometheus.Counter
}

func newRelayLink(addr string, logger *slog.Logger) *relayLink {
	return &relayLink{
		addr: addr,
		log:  logger,
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hsfleet_agent_relay_connected",
			Help: "1 while the agent's relay connection is up, else 0.",
		}),
		disconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hsfleet_agent_relay_disconnects_total",
			Help: "Relay connections that ended (the client then reconnects with backoff).",
		}),
	}
}

// onConnect is the relay client's OnConnect hook.
func (l *relayLink) onConnect() {
	l.up.Store(true)
	l.connected.Set(1)
	l.log.Info("connected to relay", "relay", l.addr)
}

// onDisconnect is the relay client's OnDisconnect hook; err is nil when the
// agent itself is shutting down.
func (l *relayLink) onDisconnect(err error) {
	l.up.Store(false)
	l.connected.Set(0)
	l.disconnects.Inc()
	if err != nil {
		l.log.Warn("relay connection lost; not ready until it is back", "relay", l.addr, "error", err)
	}
}

// Up reports whether the relay connection is currently established.
func (l *relayLink) Up() bool { return l.up.Load() }

// Collectors are the link's metrics, for the agent's registry.
func (l *relayLink) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.connected, l.disconnects}
}

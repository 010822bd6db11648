package main

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/relay"
)

// relayLink tracks whether the agent's relay connection is up right now:
// /readyz reports not ready while it is down, so a Service or a rollout
// does not count an agent that cannot hear the fleet.
type relayLink struct {
	addr          string
	log           *slog.Logger
	up            atomic.Bool
	connected     prometheus.Gauge
	disconnects   prometheus.Counter
	authenticated prometheus.Gauge
	authFailures  *prometheus.CounterVec
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
		authenticated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hsfleet_agent_relay_authenticated",
			Help: "1 while the relay connection is authenticated (the relay routes this agent's ID to it), else 0.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hsfleet_agent_relay_auth_failures_total",
			Help: "Relay authentication handshakes that did not prove the agent ID, by result.",
		}, []string{"result"}),
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
	l.authenticated.Set(0)
	l.disconnects.Inc()
	if err != nil {
		l.log.Warn("relay connection lost; not ready until it is back", "relay", l.addr, "error", err)
	}
}

// Up reports whether the relay connection is currently established.
func (l *relayLink) Up() bool { return l.up.Load() }

// Collectors are the link's metrics, for the agent's registry.
func (l *relayLink) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.connected, l.disconnects, l.authenticated, l.authFailures}
}

// onAuth is the relay client's OnAuth hook.
func (l *relayLink) onAuth(o relay.AuthOutcome) {
	if o.Authenticated {
		l.authenticated.Set(1)
		return
	}
	l.authenticated.Set(0)
	l.authFailures.WithLabelValues(o.Result).Inc()
}

// Relay authentication modes (--relay-auth).
const (
	relayAuthAuto     = "auto"     // authenticate when the relay can; else go on unauthenticated
	relayAuthRequired = "required" // never talk to the relay unauthenticated
	relayAuthOff      = "off"      // never try (a relay that cannot answer costs no timeout)
)

// checkRelayAuthMode rejects an unknown --relay-auth value before anything
// is opened.
func checkRelayAuthMode(mode string) error {
	switch mode {
	case relayAuthAuto, relayAuthRequired, relayAuthOff, "":
		return nil
	}
	return fmt.Errorf("relay-auth %q: want auto, required or off", mode)
}

// relayClientAuth is the relay client's authentication for the agent's
// identity in mode (auto, required or off; "" means auto).
func relayClientAuth(mode string, id *crypto.Identity) (*relay.ClientAuth, error) {
	switch mode {
	case relayAuthAuto, "":
		return &relay.ClientAuth{ID: id.ID, Key: id.SignPriv}, nil
	case relayAuthRequired:
		return &relay.ClientAuth{ID: id.ID, Key: id.SignPriv, Required: true}, nil
	case relayAuthOff:
		return nil, nil
	}
	return nil, checkRelayAuthMode(mode)
}

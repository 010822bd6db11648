package relay

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Drop and disconnect reasons, used as metric labels and log values.
const (
	reasonTooLong     = "too_long"
	reasonInvalidUTF8 = "invalid_utf8"
	reasonRateLimited = "rate_limited"
	reasonRecipient   = "recipient_gone"

	reasonEOF      = "eof"
	reasonError    = "error"
	reasonSlow     = "slow"
	reasonIdle     = "idle"
	reasonShutdown = "shutdown"
	reasonFull     = "server_full"

	// Authenticated registration (authconn.go).
	reasonUnauthenticatedID = "unauthenticated_id" // an unauthenticated client claimed a bundle ID
	reasonFromMismatch      = "from_mismatch"      // an authenticated client claimed another ID
	reasonAmbiguousFrom     = "ambiguous_from"     // a sender claim the relay cannot check
	reasonAuthLine          = "auth_line"          // an auth line out of place (never relayed)
	reasonAuthFailed        = "auth_failed"
	reasonAuthRequired      = "auth_required"
	reasonAuthTimeout       = "auth_timeout"
	reasonReauth            = "reauth"         // its ID joined the bundle: reconnect to prove it
	reasonBundleChanged     = "bundle_changed" // its proven key left the bundle
)

// metrics holds pre-resolved collectors so the hot path never looks up
// label values. Readers and writers add per batch, not per line.
type metrics struct {
	connections     prometheus.Gauge
	accepted        prometheus.Counter
	linesIn         prometheus.Counter
	bytesIn         prometheus.Counter
	linesOut        prometheus.Counter
	bytesOut        prometheus.Counter
	directed        prometheus.Counter
	stalls          prometheus.Counter
	writes          prometheus.Counter
	dropTooLong     prometheus.Counter
	dropInvalidUTF8 prometheus.Counter
	dropRateLimited prometheus.Counter
	dropNotJSON     prometheus.Counter
	dropRelayedLong prometheus.Counter
	dropRecipient   prometheus.Counter
	disconnects     *prometheus.CounterVec

	clusterPublished    prometheus.Counter
	clusterReceived     prometheus.Counter
	clusterDropped      prometheus.Counter
	clusterMalformed    prometheus.Counter
	clusterDirected     prometheus.Counter
	clusterDirectedGone prometheus.Counter
	presenceMalformed   prometheus.Counter
	presenceFull        prometheus.Counter

	dropUnauthID       prometheus.Counter
	dropFromMismatch   prometheus.Counter
	dropAmbiguousFrom  prometheus.Counter
	dropAuthLine       prometheus.Counter
	authAttempts       *prometheus.CounterVec
	authenticated      prometheus.Gauge
	routesContested    prometheus.Counter
	bundleAgents       prometheus.Gauge
	bundleReloadErrors prometheus.Counter
	bundleConflicts    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "hsfleet", "relay"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "lines_dropped_total", Help: "Received lines not relayed, or deliveries not made, by reason."}, []string{"reason"})
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "connections", Help: "Currently connected clients."}),
		accepted: counter("connections_accepted_total", "Client connections accepted."),
		linesIn:  counter("lines_received_total", "Lines received from clients."),
		bytesIn:  counter("bytes_received_total", "Bytes received from clients."),
		linesOut: counter("lines_sent_total", "Lines written to clients (relayed lines and warnings)."),
		bytesOut: counter("bytes_sent_total", "Bytes written to clients."),
		directed: counter("lines_directed_total", "Lines delivered to one client by directed routing."),
		stalls:   counter("sender_stalls_total", "Times a sender waited for a lagging recipient to drain."),
		writes:   counter("write_batches_total", "Vectored socket writes; lines_sent_total / this is the batching factor."),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "disconnects_total", Help: "Client disconnects by reason (slow = could not keep up)."}, []string{"reason"}),
		dropTooLong:     drops.WithLabelValues(reasonTooLong),
		dropInvalidUTF8: drops.WithLabelValues(reasonInvalidUTF8),
		dropRateLimited: drops.WithLabelValues(reasonRateLimited),
		dropNotJSON:     drops.WithLabelValues(reasonNotJSONObject),
		dropRelayedLong: drops.WithLabelValues(reasonRelayedTooLong),
		dropRecipient:   drops.WithLabelValues(reasonRecipient),

		clusterPublished: counter("cluster_lines_published_total", "Lines sent to other relay replicas over NATS."),
		clusterReceived:  counter("cluster_lines_received_total", "Lines received from other relay replicas over NATS."),
		clusterDropped:   counter("cluster_lines_dropped_total", "Lines from other replicas dropped because this replica fell behind (NATS slow consumer)."),
		clusterMalformed: counter("cluster_lines_malformed_total", "Malformed lines from other replicas, dropped."),
		clusterDirected: counter("cluster_lines_directed_total",
			"Lines to a recipient proven on another replica: published to the replicas only, not broadcast here."),
		clusterDirectedGone: counter("cluster_lines_recipient_gone_total",
			"Directed-only lines from other replicas whose recipient was no longer connected here; dropped, not broadcast."),
		presenceMalformed: counter("cluster_presence_malformed_total", "Malformed presence messages from other replicas, dropped."),
		presenceFull: counter("cluster_presence_ignored_total",
			"Presence entries ignored because the table is at its bound (those IDs are broadcast)."),

		dropUnauthID:      drops.WithLabelValues(reasonUnauthenticatedID),
		dropFromMismatch:  drops.WithLabelValues(reasonFromMismatch),
		dropAmbiguousFrom: drops.WithLabelValues(reasonAmbiguousFrom),
		dropAuthLine:      drops.WithLabelValues(reasonAuthLine),
		authAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "auth_attempts_total", Help: "Authenticated registration attempts by result."}, []string{"result"}),
		authenticated: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "connections_authenticated", Help: "Connected clients that proved their agent ID."}),
		routesContested: counter("routes_contested_total", "Agent IDs claimed by a second unauthenticated connection; lines to them are broadcast."),
		bundleAgents: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "trust_bundle_agents", Help: "Agent IDs in the loaded trust bundle."}),
		bundleReloadErrors: counter("trust_bundle_reload_errors_total", "Trust bundle loads that failed (the previous bundle stays)."),
		bundleConflicts: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "trust_bundle_conflicts", Help: "Agent IDs left out of the trust bundle because two namespaces list them with different keys."}),
	}
	for _, r := range []string{authResultOK, authResultUnknownID, authResultBadSignature, authResultMalformed, authResultTimeout, authResultUnavailable} {
		m.authAttempts.WithLabelValues(r)
	}
	for _, r := range []string{reasonEOF, reasonError, reasonSlow, reasonIdle, reasonShutdown, reasonFull,
		reasonAuthFailed, reasonAuthRequired, reasonAuthTimeout, reasonReauth, reasonBundleChanged} {
		m.disconnects.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.connections, m.accepted, m.linesIn, m.bytesIn, m.linesOut,
		m.bytesOut, m.directed, m.stalls, m.writes, drops, m.disconnects,
		m.clusterPublished, m.clusterReceived, m.clusterDropped, m.clusterMalformed,
		m.clusterDirected, m.clusterDirectedGone, m.presenceMalformed, m.presenceFull,
		m.authAttempts, m.authenticated, m.routesContested, m.bundleAgents, m.bundleReloadErrors, m.bundleConflicts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register relay metrics: %w", err)
		}
	}
	return m, nil
}

// newDefaultRegistry is used when the caller brings no registry.
func newDefaultRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

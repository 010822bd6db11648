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

	clusterPublished prometheus.Counter
	clusterReceived  prometheus.Counter
	clusterDropped   prometheus.Counter
	clusterMalformed prometheus.Counter
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
	}
	for _, r := range []string{reasonEOF, reasonError, reasonSlow, reasonIdle, reasonShutdown, reasonFull} {
		m.disconnects.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.connections, m.accepted, m.linesIn, m.bytesIn, m.linesOut,
		m.bytesOut, m.directed, m.stalls, m.writes, drops, m.disconnects,
		m.clusterPublished, m.clusterReceived, m.clusterDropped, m.clusterMalformed} {
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

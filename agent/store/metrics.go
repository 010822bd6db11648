package store

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	opsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hsfleet", Subsystem: "store", Name: "operations_total",
		Help: "Store operations by operation, dialect and result (ok, conflict, replay, not_found, invalid, timeout, error).",
	}, []string{"op", "dialect", "result"})
	opSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "hsfleet", Subsystem: "store", Name: "operation_duration_seconds",
		Help:    "Latency of store operations.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14), // 0.2 ms .. 1.6 s
	}, []string{"op", "dialect"})
	rejectedPeers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hsfleet", Subsystem: "store", Name: "rejected_peers_total",
		Help: "Peer IDs refused as row keys (empty, oversized, not UTF-8, NUL) by a bulk operation; no row was created for them.",
	}, []string{"op", "dialect"})
	callTimeouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hsfleet", Subsystem: "store", Name: "call_timeouts_total",
		Help: "PostgreSQL calls that reached their deadline, by what ended them: server (its statement_timeout; the connection is kept) " +
			"or socket (the connection is discarded and a new one opened).",
	}, []string{"ended_by"})
	migrationsApplied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hsfleet", Subsystem: "store", Name: "migrations_applied_total",
		Help: "Schema migrations applied by this process.",
	}, []string{"dialect"})
)

// Collectors returns the store's metrics, for the process to register
// (prometheus.MustRegister(store.Collectors()...) or controller-runtime's
// metrics.Registry).
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{opsTotal, opSeconds, rejectedPeers, callTimeouts, migrationsApplied}
}

// ended_by values of call_timeouts_total.
const (
	endedByServer = "server"
	endedBySocket = "socket"
)

func init() {
	// Both series from the start, so a rate() sees the first timeout.
	callTimeouts.WithLabelValues(endedByServer)
	callTimeouts.WithLabelValues(endedBySocket)
}

func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// observe records one operation and logs failures that are not the
// caller's expected outcomes (conflicts, missing rows, bad input).
// It takes the named result by pointer: `defer s.observe(op, time.Now(), &err)`.
func (s *Store) observe(op string, start time.Time, errp *error) {
	err := *errp
	res := resultOf(err)
	opsTotal.WithLabelValues(op, s.dialect, res).Inc()
	opSeconds.WithLabelValues(op, s.dialect).Observe(time.Since(start).Seconds())
	switch res {
	case "error":
		s.log.Warn("store operation failed", "op", op, "dialect", s.dialect, "error", err)
		if s.dialect == DialectPostgres && isConnectionError(err) {
			s.flushIdleConns()
		}
	case "timeout":
		// Not a lost server: the pool's other connections stay.
		s.log.Warn("store operation timed out", "op", op, "dialect", s.dialect, "error", err)
	case "invalid":
		s.log.Debug("store operation rejected", "op", op, "dialect", s.dialect, "error", err)
	}
}

package engine

import (
	"errors"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are one engine's Prometheus collectors. Each engine has its own
// set, so tests and the demo can run several engines in one process.
type Metrics struct {
	Cycles        *prometheus.CounterVec
	CycleSeconds  *prometheus.HistogramVec
	Handshakes    *prometheus.CounterVec
	Messages      *prometheus.CounterVec
	RejectedLines *prometheus.CounterVec
	Ignored       *prometheus.CounterVec
	Timeouts      *prometheus.CounterVec
	SendErrors    *prometheus.CounterVec
	StoreErrors   *prometheus.CounterVec
	PairsGone     *prometheus.CounterVec
	IdleEvicted   *prometheus.CounterVec
	RowsCollected *prometheus.CounterVec
	Active        prometheus.Gauge
	Conversations prometheus.Gauge
	// CommitSteps is the steps per group-commit transaction; its count is
	// the agent's commits.
	CommitSteps *prometheus.HistogramVec
	// StartsDeferred counts reconnects the initiator's start gate held back.
	StartsDeferred prometheus.Counter
	// CyclesRestarted counts cycles abandoned at once for a new one
	// because a restart was proven, instead of at the state timeout.
	CyclesRestarted *prometheus.CounterVec
	// StepsDiscarded counts saved steps of cycles a state timeout threw
	// away: work done for nothing.
	StepsDiscarded prometheus.Counter
	// InvalidStates counts loaded rows whose state was not one of their
	// role's; they are reset to the ready state.
	InvalidStates *prometheus.CounterVec
}

// NewMetrics returns unregistered collectors; register them with
// Collectors.
func NewMetrics() *Metrics {
	const ns, sub = "hsfleet", "agent"
	m := &Metrics{
		Cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "cycles_total",
			Help: "Completed handshake cycles, by our role (responder: close accepted; initiator: finish received) and whether the cycle was authenticated end to end (verified)."}, []string{"role", "verified"}),
		CycleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "cycle_duration_seconds",
			Help:    "Time from leaving the ready state to the cycle's end, by our role.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"role"}),
		Handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "handshakes_total",
			Help: "Peer hs validations, by result (ok, failed) and failure reason."}, []string{"result", "reason"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_total",
			Help: "HSAgent messages by direction (in, out) and intent."}, []string{"direction", "intent"}),
		RejectedLines: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejected_lines_total",
			Help: "Relay lines dropped before reaching a conversation, by reason."}, []string{"reason"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "ignored_messages_total",
			Help: "Messages a conversation did not accept, by reason (protocol rule or security check)."}, []string{"reason"}),
		Timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "state_timeouts_total",
			Help: "Conversations recovered by the state timeout, by the state they were stuck in."}, []string{"state"}),
		SendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "send_errors_total",
			Help: "Outbound messages that could not be queued, by reason."}, []string{"reason"}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "store_errors_total",
			Help: "Failed store operations seen by the engine, by operation."}, []string{"op"}),
		PairsGone: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pair_state_deleted_total",
			Help: "Conversations ended because their role_state row was deleted (peer removed), by our role."}, []string{"role"}),
		IdleEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "idle_conversations_evicted_total",
			Help: "Idle conversations dropped from memory (their row stays), by our role."}, []string{"role"}),
		RowsCollected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "unused_rows_deleted_total",
			Help: "role_state rows of evicted peers that never completed a cycle, deleted, by our role."}, []string{"role"}),
		Active: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "active_conversations",
			Help: "Conversations in the middle of a cycle."}),
		Conversations: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "conversations",
			Help: "(role, peer) conversations this agent keeps."}),
		CommitSteps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "commit_batch_steps",
			Help:    "Conversation steps saved per database transaction (group commit), by result (ok, error).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 8)}, []string{"result"}),
		StartsDeferred: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "cycle_starts_deferred_total",
			Help: "Initiator cycle starts (reconnects) postponed because the agent's started-cycle limit was reached."}),
		CyclesRestarted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "cycles_restarted_total",
			Help: "Cycles given up at once for a new one because a restart was proven (peer_boot: the peer's signed boot proof; peer_confirm: the peer's verified confirm of a new cycle; own_boot: this process found the row mid-cycle), by our role."}, []string{"role", "cause"}),
		StepsDiscarded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "steps_discarded_total",
			Help: "Saved conversation steps of cycles that a state timeout gave up (work done for nothing)."}),
		InvalidStates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "invalid_states_total",
			Help: "Loaded role_state rows whose state was not one of their role's states, reset to the ready state, by our role."}, []string{"role"}),
	}
	for _, r := range protocol.Reasons() {
		m.Ignored.WithLabelValues(string(r)) // one label set, exported from the start
	}
	return m
}

// ignored counts a message a conversation did not accept.
func (m *Metrics) ignored(r protocol.Reason) { m.Ignored.WithLabelValues(string(r)).Inc() }

// Collectors lists the metrics for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Cycles, m.CycleSeconds, m.Handshakes, m.Messages, m.RejectedLines,
		m.Ignored, m.Timeouts, m.SendErrors, m.StoreErrors, m.PairsGone, m.IdleEvicted, m.RowsCollected, m.Active, m.Conversations, m.CommitSteps,
		m.StartsDeferred, m.CyclesRestarted, m.StepsDiscarded, m.InvalidStates}
}

// hsFailureReason names an hs failure for the metric label.
func hsFailureReason(err error) string {
	for _, c := range []struct {
		err    error
		reason string
	}{
		{crypto.ErrWrongType, "wrong_type"}, {crypto.ErrBadTimestamp, "bad_timestamp"},
		{crypto.ErrNonceMismatch, "nonce_mismatch"}, {crypto.ErrReplay, "replay"},
		{crypto.ErrStale, "stale"}, {crypto.ErrFuture, "future"},
		{crypto.ErrBadSignature, "bad_signature"}, {crypto.ErrBadKey, "bad_key"},
		{crypto.ErrLowOrder, "low_order"}, {crypto.ErrBadHandshake, "malformed"},
		{trust.ErrUnknownAgent, "unknown_agent"}, {trust.ErrKeyMismatch, "key_mismatch"},
		{trust.ErrKeyChanged, "key_changed"}, {protocol.ErrNoEphemeral, "no_ephemeral"},
		{protocol.ErrHSBeforeCycle, "before_cycle"},
	} {
		if errors.Is(err, c.err) {
			return c.reason
		}
	}
	return "other"
}

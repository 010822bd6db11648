package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Operator metrics, served on the manager's metrics endpoint next to
// controller-runtime's own reconcile metrics.
var (
	databaseErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_database_errors_total",
		Help: "Failed database operations by the operator, by operation (open, summary, delete).",
	}, []string{"op"})
	identityOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_identity_operations_total",
		Help: "Identity generations and rotations, by operation and result.",
	}, []string{"op", "result"})
	invalidObjects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_invalid_objects_total",
		Help: "Objects read from the API whose content the operator rejected, by kind.",
	}, []string{"kind"})
	trustBundleWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_trust_bundle_writes_total",
		Help: "Trust bundle ConfigMap writes, by result (ok, conflict, error).",
	}, []string{"result"})
	idleStoresClosed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hsfleet_operator_idle_database_pools_closed_total",
		Help: "Database connection pools closed after going unused (rotated or abandoned DSNs).",
	})
	statusPolls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_status_polls_total",
		Help: "Status polls (one query per database for all its agents), by result (ok, open_failed, query_failed, skipped_busy).",
	}, []string{"result"})
	statusPollSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hsfleet_operator_status_poll_duration_seconds",
		Help:    "Duration of one database's status query.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	statusEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_status_events_total",
		Help: "HSAgents enqueued by the status hub, by why (changed: meaningful change; counters: coarse counter refresh).",
	}, []string{"why"})
	statefulSetApplies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_statefulset_applies_total",
		Help: "StatefulSet server-side applies, by result (applied, skipped_unchanged, error).",
	}, []string{"result"})
	reclaimOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_state_reclaim_operations_total",
		Help: "Identity and passphrase Secrets handled by the reclaim policy, by op (Retain: released on delete, Delete: deleted, adopt: taken back by a re-created HSAgent) and result; op rows: attempts to delete a deleted HSAgent's database rows (error: the database failed, retried until the grace period).",
	}, []string{"op", "result"})
	statusPatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hsfleet_operator_status_patches_total",
		Help: "HSAgent status patches (optimistically locked), by result (ok, conflict: requeued to recompute, error).",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(databaseErrors, identityOps, invalidObjects, trustBundleWrites, idleStoresClosed,
		statusPolls, statusPollSeconds, statusEvents, statefulSetApplies, statusPatches,
		reclaimOps)
}

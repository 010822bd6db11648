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
)

func init() {
	metrics.Registry.MustRegister(databaseErrors, identityOps, invalidObjects, trustBundleWrites, idleStoresClosed)
}

package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Event reasons (events.k8s.io/v1), stable for alerting.
const (
	EventIdentityCreated     = "IdentityCreated"
	EventIdentityRotated     = "IdentityRotated"
	EventIdentityAdopted     = "IdentityAdopted"
	EventIdentityFailed      = "IdentityFailed"
	EventStateDeleted        = "AgentStateDeleted"
	EventStateDeleteFailed   = "AgentStateDeleteFailed"
	EventStateRetained       = "AgentStateRetained"
	EventStatefulSetFailed   = "StatefulSetFailed"
	EventDatabaseUnavailable = "DatabaseUnavailable"
)

// eventRecorder is the part of the events API the reconciler uses.
type eventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...interface{})
}

func (r *HSAgentReconciler) normalEvent(obj runtime.Object, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, action, note, args...)
	}
}

func (r *HSAgentReconciler) warningEvent(obj runtime.Object, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, action, note, args...)
	}
}

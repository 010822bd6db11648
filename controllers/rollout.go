package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
)

// rollout is what Available needs from the agent's StatefulSet.
type rollout struct {
	generation, observedGeneration  int64
	readyReplicas, updatedReplicas  int32
	currentRevision, updateRevision string
}

func rolloutOf(sts *appsv1.StatefulSet) rollout {
	s := sts.Status
	return rollout{generation: sts.Generation, observedGeneration: s.ObservedGeneration,
		readyReplicas: s.ReadyReplicas, updatedReplicas: s.UpdatedReplicas,
		currentRevision: s.CurrentRevision, updateRevision: s.UpdateRevision}
}

func rolloutOfApplied(sts *appsv1ac.StatefulSetApplyConfiguration) rollout {
	var r rollout
	if sts.Generation != nil {
		r.generation = *sts.Generation
	}
	if s := sts.Status; s != nil {
		r.observedGeneration = deref(s.ObservedGeneration)
		r.readyReplicas, r.updatedReplicas = deref(s.ReadyReplicas), deref(s.UpdatedReplicas)
		r.currentRevision, r.updateRevision = deref(s.CurrentRevision), deref(s.UpdateRevision)
	}
	return r
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// availability: True only when the StatefulSet controller has seen the
// current spec, the one pod runs the updated revision, and it is ready — a
// rollout still running the old pod is not Available.
func (r rollout) availability() (metav1.ConditionStatus, string, string) {
	switch {
	case r.observedGeneration < r.generation:
		return metav1.ConditionFalse, ReasonRollingOut,
			fmt.Sprintf("waiting for the StatefulSet controller to observe generation %d", r.generation)
	case r.updateRevision != "" && (r.currentRevision != r.updateRevision || r.updatedReplicas < 1):
		return metav1.ConditionFalse, ReasonRollingOut,
			fmt.Sprintf("rolling out revision %s (the pod runs %s)", r.updateRevision, r.currentRevision)
	case r.readyReplicas < 1:
		return metav1.ConditionFalse, ReasonPodNotReady,
			"waiting for the agent pod to report ready (relay connected, database reachable)"
	}
	return metav1.ConditionTrue, ReasonPodReady, "the agent pod runs the current revision and is ready"
}

package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAvailabilityFollowsTheRollout(t *testing.T) {
	for _, tt := range []struct {
		name   string
		r      rollout
		status metav1.ConditionStatus
		reason string
	}{
		{"not observed yet", rollout{generation: 2, observedGeneration: 1, readyReplicas: 1, updatedReplicas: 1}, metav1.ConditionFalse, ReasonRollingOut},
		{"old pod still ready", rollout{generation: 2, observedGeneration: 2, readyReplicas: 1, currentRevision: "a", updateRevision: "b"}, metav1.ConditionFalse, ReasonRollingOut},
		{"updated pod not ready", rollout{generation: 2, observedGeneration: 2, updatedReplicas: 1, currentRevision: "b", updateRevision: "b"}, metav1.ConditionFalse, ReasonPodNotReady},
		{"updated pod ready", rollout{generation: 2, observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1, currentRevision: "b", updateRevision: "b"}, metav1.ConditionTrue, ReasonPodReady},
	} {
		if s, reason, _ := tt.r.availability(); s != tt.status || reason != tt.reason {
			t.Errorf("%s: %s/%s, want %s/%s", tt.name, s, reason, tt.status, tt.reason)
		}
	}
}

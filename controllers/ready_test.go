package controllers

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// TestSetRotatingFollowsTheStoredRotation: the Rotating condition is
// derived from the identity's rotation state and this pass's outcome.
func TestSetRotatingFollowsTheStoredRotation(t *testing.T) {
	pending := rotationState{nextFor: "r1", nextSign: testKey, nextKx: testKey}
	stepErr := errors.New("write trust bundle: conflict")
	tests := []struct {
		name       string
		before     *metav1.Condition
		identity   *identityInfo
		err        error
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"first pass without a rotation", nil, &identityInfo{}, nil, metav1.ConditionFalse, ReasonNoRotation},
		{"a rotation that cannot start", nil, &identityInfo{}, errors.New("open stored identity"), metav1.ConditionFalse, ReasonRotationFailed},
		{"a step of a started rotation failed", nil, &identityInfo{rotation: pending}, stepErr, metav1.ConditionTrue, ReasonRotationStepFailed},
		{"publishing", nil, &identityInfo{rotation: pending, progress: rotationProgress{ReasonRotationPublishing, "m"}},
			nil, metav1.ConditionTrue, ReasonRotationPublishing},
		{"retiring", nil, &identityInfo{rotation: rotationState{previous: testKey}, progress: rotationProgress{ReasonRotationRetiring, "m"}},
			nil, metav1.ConditionTrue, ReasonRotationRetiring},
		{"the rotation ended", &metav1.Condition{Type: hsv1.ConditionRotating, Status: metav1.ConditionTrue, Reason: ReasonRotationRetiring},
			&identityInfo{RotatedFor: "r1"}, nil, metav1.ConditionFalse, ReasonRotationComplete},
		{"a later pass keeps Complete", &metav1.Condition{Type: hsv1.ConditionRotating, Status: metav1.ConditionFalse, Reason: ReasonRotationComplete},
			&identityInfo{RotatedFor: "r1"}, nil, metav1.ConditionFalse, ReasonRotationComplete},
		{"no identity this pass keeps what is there", &metav1.Condition{Type: hsv1.ConditionRotating, Status: metav1.ConditionTrue, Reason: ReasonRollingOut},
			nil, nil, metav1.ConditionTrue, ReasonRollingOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newHSAgent("ns", "a")
			if tt.before != nil {
				meta.SetStatusCondition(&a.Status.Conditions, *tt.before)
			}
			setRotating(a, &agentScope{agent: a, identity: tt.identity, rotationErr: tt.err})
			c := meta.FindStatusCondition(a.Status.Conditions, hsv1.ConditionRotating)
			if c == nil || c.Status != tt.wantStatus || c.Reason != tt.wantReason {
				t.Fatalf("Rotating = %+v, want %s/%s", c, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

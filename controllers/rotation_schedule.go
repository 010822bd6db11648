package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// KeysCreatedAtAnnotation on the identity Secret: when the active keys
// were generated (RFC 3339). spec.identity.rotationPolicy rotates them once
// they are its interval old.
const KeysCreatedAtAnnotation = "hsfleet.io/keys-created-at"

// keysCreatedAt is the annotation, else the Secret's creation time (a
// Secret from before the annotation; its keys are at most that old).
func keysCreatedAt(sec *corev1.Secret) time.Time {
	if t, err := parseRotationTime(sec.Annotations, KeysCreatedAtAnnotation); err == nil && !t.IsZero() {
		return t
	}
	return sec.CreationTimestamp.Time
}

func stampKeysCreated(sec *corev1.Secret, now time.Time) {
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	sec.Annotations[KeysCreatedAtAnnotation] = now.UTC().Format(time.RFC3339)
}

// scheduledRotationDue is when the agent's rotation policy next rotates
// keys created at createdAt; false without a policy (or a zero interval,
// which the API's validation refuses).
func scheduledRotationDue(agent *hsv1.HSAgent, createdAt time.Time) (time.Time, bool) {
	id := agent.Spec.Identity
	if id == nil || id.RotationPolicy == nil || id.RotationPolicy.Interval.Duration <= 0 || createdAt.IsZero() {
		return time.Time{}, false
	}
	return createdAt.Add(id.RotationPolicy.Interval.Duration), true
}

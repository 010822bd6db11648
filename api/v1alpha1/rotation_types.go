package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RotationPolicy schedules key rotations (cert-manager's rotationPolicy):
// the operator rotates the agent's keys, with the same overlap as a
// requested rotation (docs/rotation.md), once the active keys are
// Interval old. The rotate-identity annotation still rotates at any time.
type RotationPolicy struct {
	// Interval is the maximum age of the agent's keys, e.g. "2160h" (90
	// days). At least 1h: a rotation itself takes minutes.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="rotationPolicy.interval must be at least 1h"
	Interval metav1.Duration `json:"interval"`
}

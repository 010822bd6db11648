/*
Copyright 2026 The hsfleet Authors.
SPDX-License-Identifier: Apache-2.0
*/

package v1alpha1

// StateReclaimPolicy says what deleting an HSAgent does to its state: its
// database rows, its identity Secret and its generated passphrase Secret.
// +kubebuilder:validation:Enum=Retain;Delete
type StateReclaimPolicy string

const (
	// ReclaimDelete removes the rows and both Secrets with the HSAgent.
	ReclaimDelete StateReclaimPolicy = "Delete"
	// ReclaimRetain keeps the rows and both Secrets (released from the
	// HSAgent, labelled OrphanedLabel); an HSAgent re-created with the same
	// name in the same namespace adopts them and keeps the agent ID.
	ReclaimRetain StateReclaimPolicy = "Retain"
)

// OrphanedLabel marks a Secret the operator released when deleting an
// HSAgent with stateReclaimPolicy Retain; only such Secrets are adopted.
const OrphanedLabel = "hsfleet.io/orphaned-by-hsfleet"

// EffectiveStateReclaimPolicy is the policy deletion applies:
// spec.stateReclaimPolicy when set, else Retain for the deprecated
// retainState: true, else Delete.
func (s *HSAgentSpec) EffectiveStateReclaimPolicy() StateReclaimPolicy {
	switch {
	case s.StateReclaimPolicy != "":
		return s.StateReclaimPolicy
	case s.RetainState:
		return ReclaimRetain
	default:
		return ReclaimDelete
	}
}

/*
Copyright 2026 The hsfleet Authors.
SPDX-License-Identifier: Apache-2.0
*/

package v1alpha1

// Names shared by the operator, the agent pods and users.
const (
	// RotateIdentityAnnotation on an HSAgent requests new keys under the same
	// agent ID whenever its value changes.
	RotateIdentityAnnotation = "hsfleet.io/rotate-identity"

	// Finalizer removes the agent's database rows and trust bundle entry.
	Finalizer = "hsfleet.io/agent-cleanup"

	// Condition types.
	ConditionIdentityReady = "IdentityReady"
	ConditionAvailable     = "Available"
	// ConditionReady summarises IdentityReady and Available (kstatus).
	ConditionReady = "Ready"
	// ConditionRotating is True from a rotation request until the pod with
	// the new keys is available.
	ConditionRotating    = "Rotating"
	ConditionHandshaking = "Handshaking"
	// ConditionPeersCycling is True while every known peer completed a
	// cycle within the stale window.
	ConditionPeersCycling = "PeersCycling"
	// ConditionStateReclaimed is set during deletion only: False while
	// deleting the agent's database rows fails and is being retried.
	ConditionStateReclaimed = "StateReclaimed"

	// MaxStatusPeers bounds status.peers (the API's limit).
	MaxStatusPeers = 64
	// StatusPeerSample is how many conversations the operator lists in
	// status.peers.
	StatusPeerSample = 16
)

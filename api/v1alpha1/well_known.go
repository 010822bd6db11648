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
	ConditionHandshaking   = "Handshaking"

	// MaxStatusPeers bounds status.peers.
	MaxStatusPeers = 64
)

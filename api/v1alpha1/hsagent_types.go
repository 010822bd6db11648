/*
Copyright 2026 The hsfleet Authors.
SPDX-License-Identifier: Apache-2.0
*/

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TrustMode says how an agent decides whether a peer's handshake key is
// acceptable.
// +kubebuilder:validation:Enum=Fleet;TOFU;Open
type TrustMode string

const (
	// TrustFleet accepts only peers whose signing key is in the namespace
	// trust bundle that the operator maintains.
	TrustFleet TrustMode = "Fleet"
	// TrustTOFU pins the first signing key seen for a peer ID.
	TrustTOFU TrustMode = "TOFU"
	// TrustOpen accepts any well-formed handshake (the reference behaviour).
	TrustOpen TrustMode = "Open"
)

// HSAgentSpec is the desired state of one handshake agent.
// +kubebuilder:validation:XValidation:rule="(has(self.identity) && has(self.identity.passphraseSecretRef)) == (has(oldSelf.identity) && has(oldSelf.identity.passphraseSecretRef))",message="spec.identity.passphraseSecretRef cannot be added or removed after creation"
// +kubebuilder:validation:XValidation:rule="!(has(self.retainState) && self.retainState && has(self.stateReclaimPolicy) && self.stateReclaimPolicy == 'Delete')",message="retainState: true (deprecated) contradicts stateReclaimPolicy: Delete; remove retainState"
type HSAgentSpec struct {
	// Relay is the HOST:PORT of the Summoner-compatible relay. Empty means
	// the operator's --default-relay. IPv6 hosts go in brackets.
	// +optional
	// +kubebuilder:validation:MaxLength=260
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$')`,message="relay must be HOST:PORT with a DNS name, an IPv4 address or a bracketed IPv6 address and a port in 1-65535"
	Relay string `json:"relay,omitempty"`

	// Database names the PostgreSQL connection. Empty means the operator's
	// --default-database-secret.
	// +optional
	Database *DatabaseSpec `json:"database,omitempty"`

	// TrustMode decides which peers' handshakes are accepted.
	// +optional
	// +kubebuilder:default=Fleet
	TrustMode TrustMode `json:"trustMode,omitempty"`

	// ExchangeLimit is the number of message exchanges per handshake cycle.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100",message="exchangeLimit must be between 1 and 100"
	ExchangeLimit int32 `json:"exchangeLimit,omitempty"`

	// Secure turns on encrypted, signed envelopes after the handshake.
	// +optional
	// +kubebuilder:default=true
	Secure *bool `json:"secure,omitempty"`

	// Identity configures the agent's long-term identity. Its passphrase
	// Secret is fixed at creation (it seals the stored keys); the rotation
	// policy may change. Rotate keys now with the hsfleet.io/rotate-identity
	// annotation.
	// +optional
	Identity *IdentitySpec `json:"identity,omitempty"`

	// Pod overrides the agent pod.
	// +optional
	Pod PodOverrides `json:"pod,omitempty"`

	// Paused scales the agent to zero pods while keeping its identity and
	// state.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// StateReclaimPolicy is what deleting the HSAgent does to its state.
	// Delete (the default) removes its database rows and its identity and
	// generated passphrase Secrets. Retain keeps the rows and both Secrets
	// (released from the HSAgent and labelled hsfleet.io/orphaned-by-hsfleet);
	// an HSAgent re-created with the same name adopts them and keeps its
	// agent ID. Empty means Delete, or Retain when the deprecated
	// retainState is true.
	// +optional
	StateReclaimPolicy StateReclaimPolicy `json:"stateReclaimPolicy,omitempty"`

	// Deprecated: use stateReclaimPolicy. retainState: true reads as
	// stateReclaimPolicy: Retain (rows and Secrets kept) when
	// stateReclaimPolicy is not set.
	// +optional
	RetainState bool `json:"retainState,omitempty"`

	// CycleInterval is the pause between a completed handshake cycle and the
	// next one with the same peer (`hsfleet agent --cycle-interval`). Empty
	// means the operator's --agent-cycle-interval (10s by default); "0s"
	// cycles back to back (demos and benchmarks).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="cycleInterval must be between 0s and 24h"
	CycleInterval *metav1.Duration `json:"cycleInterval,omitempty"`

	// RegisterInterval is the interval between the agent's register
	// broadcasts (`--register-interval`). Empty means the operator's
	// --agent-register-interval.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms') && duration(self) <= duration('1h')",message="registerInterval must be between 100ms and 1h"
	RegisterInterval *metav1.Duration `json:"registerInterval,omitempty"`

	// MaxActiveCycles bounds the responder cycles the agent runs at once
	// (`--max-active-cycles`). Empty means the operator's
	// --agent-max-active-cycles.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	MaxActiveCycles *int32 `json:"maxActiveCycles,omitempty"`

	// DatabaseMaxConns caps the agent's PostgreSQL pool (`--db-max-conns`);
	// a fleet of N agents needs N times this many connections. Empty means
	// the operator's --agent-db-max-conns (2 by default).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	DatabaseMaxConns *int32 `json:"databaseMaxConns,omitempty"`
}

// DatabaseSpec points at the PostgreSQL the agent and the operator share.
type DatabaseSpec struct {
	// SecretRef selects the key of a Secret in the HSAgent's namespace that
	// holds a postgres:// connection string: key "dsn" by default; CNPG's
	// application Secret (<cluster>-app) carries it as "uri". A change of
	// the Secret's content rolls the agent pod.
	SecretRef DatabaseSecretRef `json:"secretRef"`
}

// DatabaseSecretRef is a SecretKeySelector whose key defaults to "dsn", so
// a reference written before keys were selectable ({name: x}) still means
// the same Secret key.
type DatabaseSecretRef struct {
	// Name of the Secret. Empty means the operator's
	// --default-database-secret.
	// +optional
	Name string `json:"name,omitempty"`
	// Key of the Secret holding the DSN.
	// +optional
	// +kubebuilder:default=dsn
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// IdentitySpec configures how the sealed identity file is protected.
// +kubebuilder:validation:XValidation:rule="has(self.passphraseSecretRef) == has(oldSelf.passphraseSecretRef) && (!has(self.passphraseSecretRef) || self.passphraseSecretRef == oldSelf.passphraseSecretRef)",message="spec.identity.passphraseSecretRef is immutable; rotate keys with the hsfleet.io/rotate-identity annotation"
type IdentitySpec struct {
	// PassphraseSecretRef selects the key of a Secret in the HSAgent's
	// namespace that holds the identity passphrase. Empty means the
	// operator generates a random passphrase in <name>-identity-passphrase.
	// +optional
	PassphraseSecretRef *corev1.SecretKeySelector `json:"passphraseSecretRef,omitempty"`

	// RotationPolicy rotates the keys on a schedule (rotation_types.go).
	// +optional
	RotationPolicy *RotationPolicy `json:"rotationPolicy,omitempty"`
}

// PodOverrides are the parts of the agent pod a user may change.
type PodOverrides struct {
	// Image overrides the operator's --agent-image.
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy of the agent container.
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets of the agent pod; when empty, the operator's
	// --agent-image-pull-secrets (the chart's imagePullSecrets) apply.
	// +optional
	// +listType=atomic
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// Resources of the agent container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// NodeSelector of the agent pod.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations of the agent pod.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// HSAgentStatus is the observed state of one handshake agent.
type HSAgentStatus struct {
	// ObservedGeneration is the generation the last successful reconcile saw.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// AgentID is the agent's permanent ID (a lowercase UUID).
	// +optional
	AgentID string `json:"agentID,omitempty"`

	// Identity describes the stored identity.
	// +optional
	Identity *IdentityStatus `json:"identity,omitempty"`

	// Conditions: Ready (summary of IdentityReady and Available),
	// IdentityReady, Available (the updated pod is ready), Rotating,
	// Handshaking, PeersCycling.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// PeerCount is the exact number of distinct peers in the database.
	// +optional
	PeerCount int32 `json:"peerCount,omitempty"`

	// Cycles is the exact number of completed handshake cycles, over all
	// peers and both roles. Counters are refreshed at the operator's coarse
	// --status-counter-interval, not on every cycle.
	// +optional
	Cycles int64 `json:"cycles,omitempty"`

	// VerifiedCycles counts the cycles authenticated end to end, each on
	// its own: both hs carried a valid transcript bind, a sealed message
	// confirmed the key, and the finalize lines carried a valid MAC
	// (role_state.verified_cycles, docs/protocol.md 7.4). Forged finalize
	// lines never count here.
	// +optional
	VerifiedCycles int64 `json:"verifiedCycles,omitempty"`

	// UnverifiedCycles = Cycles - VerifiedCycles: cycles not authenticated
	// end to end (Python peers, open mode without binding, secure: false).
	// +optional
	UnverifiedCycles int64 `json:"unverifiedCycles,omitempty"`

	// StalePeers is the number of peers with no completed cycle (in either
	// role) within the stale window: 6 cycle intervals, at least 1 minute.
	// The PeersCycling condition is False while it is above zero.
	// +optional
	StalePeers int32 `json:"stalePeers,omitempty"`

	// LastCycleTime is when the most recent cycle completed.
	// +optional
	LastCycleTime *metav1.Time `json:"lastCycleTime,omitempty"`

	// Peers is a small, stable sample of conversations: the first 16 by
	// peer ID, then role, so entries do not reorder as peers take turns
	// cycling. PeerCount and the cycle counters are the exact totals;
	// per-peer detail for large fleets is in the agents' metrics and the
	// mesh view.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Peers []PeerStatus `json:"peers,omitempty"`
}

// IdentityStatus is the public part of the agent's identity.
type IdentityStatus struct {
	// SecretName is the Secret holding the sealed identity file.
	SecretName string `json:"secretName"`
	// SignPublicKey is the base64 Ed25519 public key.
	SignPublicKey string `json:"signPublicKey"`
	// KxPublicKey is the base64 X25519 public key.
	KxPublicKey string `json:"kxPublicKey"`
	// Rotation is the value of the last applied hsfleet.io/rotate-identity
	// annotation.
	// +optional
	Rotation string `json:"rotation,omitempty"`
}

// PeerStatus is one peer as seen from this agent.
type PeerStatus struct {
	// AgentID of the peer.
	AgentID string `json:"agentID"`
	// Name of the peer, when it registered one.
	// +optional
	Name string `json:"name,omitempty"`
	// Role this agent plays in the conversation: initiator or responder.
	Role string `json:"role"`
	// State of the conversation.
	State string `json:"state"`
	// Cycles completed with this peer in this role.
	Cycles int64 `json:"cycles"`
	// VerifiedCycles of Cycles were authenticated end to end (see
	// status.verifiedCycles); the rest were not (a Python or open-mode
	// peer, or a downgraded cycle).
	// +optional
	VerifiedCycles int64 `json:"verifiedCycles,omitempty"`
	// LastCycleTime is when the last cycle with this peer completed.
	// +optional
	LastCycleTime *metav1.Time `json:"lastCycleTime,omitempty"`
	// Secure is true while an encrypted session with the peer is up: the
	// pair's hs was verified and an encrypted envelope from the peer was
	// opened within the stale window; and, once a cycle of this
	// conversation was verified (the peer binds), a verified cycle
	// completed within the stale window too, so a binding peer whose
	// cycles stop verifying (a downgrade, a hijacked hs) is not secure.
	// With a peer that never verified a cycle (Python, open mode) it means
	// an encrypted session only, not authentication end to end: read
	// verifiedCycles for that.
	Secure bool `json:"secure"`
}

// HSAgent is one handshake agent: a sealed identity, a single-pod
// StatefulSet running `hsfleet agent`, and its entry in the namespace trust
// bundle.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hsa,categories=hsfleet
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Peers",type=integer,JSONPath=`.status.peerCount`
// +kubebuilder:printcolumn:name="Cycles",type=integer,JSONPath=`.status.cycles`
// +kubebuilder:printcolumn:name="Stale",type=integer,JSONPath=`.status.stalePeers`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 52 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="HSAgent name must be a DNS label of at most 52 characters (it names a StatefulSet and its pod)"
type HSAgent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HSAgentSpec   `json:"spec,omitempty"`
	Status HSAgentStatus `json:"status,omitempty"`
}

// HSAgentList is a list of HSAgents.
// +kubebuilder:object:root=true
type HSAgentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HSAgent `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HSAgent{}, &HSAgentList{})
}

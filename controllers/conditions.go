package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// Condition reasons. Each says what to look at.
const (
	ReasonReconciling            = "Reconciling"
	ReasonIdentityStored         = "IdentityStored"
	ReasonIdentitySecretInvalid  = "IdentitySecretInvalid"
	ReasonIdentitySecretNotOwned = "IdentitySecretNotOwned"
	ReasonIdentitySecretLost     = "IdentitySecretLost"
	// ReasonRetainedIdentityUnusable: a Secret retained from a deleted
	// HSAgent of this name cannot serve this one (other passphrase).
	ReasonRetainedIdentityUnusable = "RetainedIdentityUnusable"
	ReasonPassphraseUnavailable    = "PassphraseUnavailable"
	ReasonIdentityFailed           = "IdentityGenerationFailed"

	ReasonPodReady               = "PodReady"
	ReasonPodNotReady            = "PodNotReady"
	ReasonPaused                 = "Paused"
	ReasonNoRelay                = "NoRelayConfigured"
	ReasonNoImage                = "NoImageConfigured"
	ReasonStatefulSetFailed      = "StatefulSetApplyFailed"
	ReasonWaitingForIdentity     = "WaitingForIdentity"
	ReasonCyclesCompleted        = "CyclesCompleted"
	ReasonNoRecentCycles         = "NoRecentCycles"
	ReasonNoDatabase             = "NoDatabaseConfigured"
	ReasonDatabaseSecretMissing  = "DatabaseSecretMissing"
	ReasonDatabaseSecretInvalid  = "DatabaseSecretInvalid"
	ReasonDatabaseDSNUnsupported = "DatabaseDSNUnsupported"
	ReasonDatabaseUnreachable    = "DatabaseUnreachable"
	ReasonDatabaseQueryFailed    = "DatabaseQueryFailed"
	ReasonWaitingForStatusPoll   = "WaitingForStatusPoll"
	ReasonNoPeers                = "NoPeers"
	ReasonAllPeersCycling        = "AllPeersCycling"
	ReasonPeersNotCycling        = "PeersNotCycling"
	ReasonRollingOut             = "RollingOut"
	ReasonReady                  = "Ready"
	ReasonRotationFailed         = "RotationFailed"
	ReasonRotationComplete       = "RotationComplete"
	ReasonNoRotation             = "NoRotation"
	// ReasonRowsDeleteFailed: deleting a deleted HSAgent's rows failed
	// (database down); retried until --finalizer-database-grace.
	ReasonRowsDeleteFailed = "RowsDeleteFailed"
)

// setCondition records a condition at the agent's current generation; the
// transition time only moves when the status does.
func setCondition(agent *hsv1.HSAgent, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&agent.Status.Conditions, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            truncateMessage(message),
		ObservedGeneration: agent.Generation,
	})
}

// initConditions makes every condition visible from the first reconcile.
func initConditions(agent *hsv1.HSAgent) {
	for _, t := range []string{hsv1.ConditionIdentityReady, hsv1.ConditionAvailable, hsv1.ConditionHandshaking, hsv1.ConditionPeersCycling} {
		if meta.FindStatusCondition(agent.Status.Conditions, t) == nil {
			setCondition(agent, t, metav1.ConditionUnknown, ReasonReconciling, "the operator has not evaluated this condition yet")
		}
	}
}

// truncateMessage keeps condition messages inside the API's 32 KiB limit
// and readable; error text can include server responses.
func truncateMessage(m string) string {
	const maxLen = 1024
	if len(m) <= maxLen {
		return m
	}
	return m[:maxLen-3] + "..."
}

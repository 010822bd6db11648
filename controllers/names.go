package controllers

import (
	"github.com/hsfleet/hsfleet/agent/crypto"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// Names, labels and annotations of the objects the operator owns. The pod
// side of this contract (mount paths, file names) is the agent's
// deployment contract; keep both in step.
const (
	// FieldOwner is the server-side apply field manager of the operator.
	FieldOwner = "hsfleet-operator"

	// ManagedByLabel marks every Secret and ConfigMap the operator creates;
	// the manager's cache only holds objects carrying it.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "hsfleet-operator"
	// AgentLabel names the HSAgent an object belongs to.
	AgentLabel = "hsfleet.io/agent"

	// Identity Secret annotations: the public half of the identity, so status
	// and the trust bundle never need the passphrase (scrypt costs ~50 ms).
	AgentIDAnnotation       = "hsfleet.io/agent-id"
	SignPublicKeyAnnotation = "hsfleet.io/sign-public-key"
	KxPublicKeyAnnotation   = "hsfleet.io/kx-public-key"
	// RotatedForAnnotation holds the rotate-identity value the stored keys
	// answer, so a rotation request is applied exactly once.
	RotatedForAnnotation = "hsfleet.io/rotated-for"
	// IdentityHashAnnotation on the pod template rolls the pod when keys change.
	IdentityHashAnnotation = "hsfleet.io/identity-hash"
	// DatabaseHashAnnotation on the pod template rolls the pod when the
	// content of its database Secret key (the DSN) changes.
	DatabaseHashAnnotation = "hsfleet.io/database-secret-hash"
	// SpecHashAnnotation on the StatefulSet is the hash of the last applied
	// intent; an unchanged intent is not applied again.
	SpecHashAnnotation = "hsfleet.io/spec-hash"
	// InstanceLabel names the HSAgent (the Kubernetes recommended label).
	InstanceLabel = "app.kubernetes.io/instance"

	// TrustBundleName is the per-namespace ConfigMap every agent mounts.
	TrustBundleName = "hsfleet-trust"
	TrustBundleKey  = "trust-bundle.json"

	PassphraseKey = "passphrase"

	// Paths inside the agent pod.
	identityMountPath   = "/etc/hsfleet/identity"
	passphraseMountPath = "/etc/hsfleet/passphrase"
	trustMountPath      = "/etc/hsfleet/trust"
	agentHTTPPort       = 8080
	agentUID            = 65532
)

// IdentitySecretName is the Secret holding the agent's sealed identity file.
func IdentitySecretName(agent *hsv1.HSAgent) string { return agent.Name + "-identity" }

// GeneratedPassphraseSecretName is the Secret the operator fills with a
// random passphrase when spec.identity.passphraseSecretRef is not set.
func GeneratedPassphraseSecretName(agent *hsv1.HSAgent) string {
	return agent.Name + "-identity-passphrase"
}

// IdentityFileKey is the identity Secret key, also the file name in the pod.
func IdentityFileKey(agent *hsv1.HSAgent) string { return crypto.IdentityFileName(agent.Name) }

// passphraseRef returns where the agent's passphrase lives.
func passphraseRef(agent *hsv1.HSAgent) (secretName, key string, generated bool) {
	if agent.Spec.Identity != nil && agent.Spec.Identity.PassphraseSecretRef != nil {
		ref := agent.Spec.Identity.PassphraseSecretRef
		return ref.Name, ref.Key, false
	}
	return GeneratedPassphraseSecretName(agent), PassphraseKey, true
}

// ownedLabels are the labels of every object owned by one HSAgent.
func ownedLabels(agent *hsv1.HSAgent) map[string]string {
	return map[string]string{
		ManagedByLabel:           ManagedByValue,
		AgentLabel:               agent.Name,
		"app.kubernetes.io/name": "hsagent",
		InstanceLabel:            agent.Name,
	}
}

package controllers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/crypto"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

var (
	errIdentitySecretInvalid  = errors.New("identity Secret is malformed")
	errIdentitySecretNotOwned = errors.New("identity Secret exists but is not controlled by this HSAgent")
	errIdentitySecretLost     = errors.New("identity Secret was deleted")
)

// identityInfo is the public half of a stored identity.
type identityInfo struct {
	ID            string
	SignPublicKey string // base64 std
	KxPublicKey   string // base64 std
	RotatedFor    string

	// rotation is a key rotation in progress (rotation_state.go).
	rotation rotationState
	// keysCreatedAt: when the active keys were generated (rotation_schedule.go).
	keysCreatedAt time.Time
	// progress is what this reconcile's rotation step left to wait for
	// (rotation.go); it drives the Rotating condition.
	progress rotationProgress
}

// hash identifies the key pair; a change rolls the agent pod.
func (i identityInfo) hash() string {
	sum := sha256.Sum256([]byte(i.SignPublicKey + "|" + i.KxPublicKey))
	return hex.EncodeToString(sum[:8])
}

func infoFromIdentity(id *crypto.Identity, rotatedFor string) identityInfo {
	return identityInfo{
		ID:            id.ID,
		SignPublicKey: base64.StdEncoding.EncodeToString(id.SignPub()),
		KxPublicKey:   base64.StdEncoding.EncodeToString(id.KxPub()),
		RotatedFor:    rotatedFor,
	}
}

// identitySecret builds the Secret for a freshly sealed identity.
func identitySecret(agent *hsv1.HSAgent, sealed []byte, info identityInfo) *corev1.Secret {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      IdentitySecretName(agent),
			Namespace: agent.Namespace,
			Labels:    ownedLabels(agent),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{IdentityFileKey(agent): sealed},
	}
	setIdentityAnnotations(sec, info)
	return sec
}

func setIdentityAnnotations(sec *corev1.Secret, info identityInfo) {
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	sec.Annotations[AgentIDAnnotation] = info.ID
	sec.Annotations[SignPublicKeyAnnotation] = info.SignPublicKey
	sec.Annotations[KxPublicKeyAnnotation] = info.KxPublicKey
	if info.RotatedFor != "" {
		sec.Annotations[RotatedForAnnotation] = info.RotatedFor
	}
}

// identityFromSecret reads and checks the public identity of a stored
// Secret. The Secret is editable by namespace admins, so nothing is trusted.
func identityFromSecret(sec *corev1.Secret, agent *hsv1.HSAgent) (identityInfo, error) {
	if !metav1.IsControlledBy(sec, agent) {
		return identityInfo{}, fmt.Errorf("%w: %s/%s", errIdentitySecretNotOwned, sec.Namespace, sec.Name)
	}
	if len(sec.Data[IdentityFileKey(agent)]) == 0 {
		return identityInfo{}, fmt.Errorf("%w: %s/%s has no key %q", errIdentitySecretInvalid, sec.Namespace, sec.Name, IdentityFileKey(agent))
	}
	info := identityInfo{
		ID:            sec.Annotations[AgentIDAnnotation],
		SignPublicKey: sec.Annotations[SignPublicKeyAnnotation],
		KxPublicKey:   sec.Annotations[KxPublicKeyAnnotation],
		RotatedFor:    sec.Annotations[RotatedForAnnotation],
	}
	if err := validateBundleEntry(info.ID, info.SignPublicKey); err != nil {
		return identityInfo{}, fmt.Errorf("%w: %s/%s: %v", errIdentitySecretInvalid, sec.Namespace, sec.Name, err)
	}
	if raw, err := base64.StdEncoding.DecodeString(info.KxPublicKey); err != nil || len(raw) != 32 {
		return identityInfo{}, fmt.Errorf("%w: %s/%s: kx key is not base64 of 32 bytes", errIdentitySecretInvalid, sec.Namespace, sec.Name)
	}
	rot, err := rotationFromSecret(sec, agent, info.ID)
	if err != nil {
		return identityInfo{}, fmt.Errorf("%w: %s/%s: rotation: %v", errIdentitySecretInvalid, sec.Namespace, sec.Name, err)
	}
	info.rotation = rot
	info.keysCreatedAt = keysCreatedAt(sec)
	return info, nil
}

package controllers

import (
	"encoding/base64"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// Annotations of the identity Secret that hold a rotation in progress
// (docs/rotation.md). The Secret is the rotation's only durable state, so
// an operator restarted at any step resumes where it stopped.
const (
	// RotationNextForAnnotation: the rotation request the pending keys
	// answer; present while new keys are pending (before the swap).
	RotationNextForAnnotation = "hsfleet.io/rotation-next-for"
	// NextSignPublicKeyAnnotation, NextKxPublicKeyAnnotation: the pending
	// keys, sealed in the Secret's NextIdentityFileKey.
	NextSignPublicKeyAnnotation = "hsfleet.io/next-sign-public-key"
	NextKxPublicKeyAnnotation   = "hsfleet.io/next-kx-public-key"
	// RotationPublishedAtAnnotation: when the trust bundle first listed
	// both keys (RFC 3339); the swap waits the propagation delay from it.
	RotationPublishedAtAnnotation = "hsfleet.io/rotation-published-at"
	// PreviousSignPublicKeyAnnotation: the replaced key, kept in the trust
	// bundle after the swap until the new pod is ready plus a grace.
	PreviousSignPublicKeyAnnotation = "hsfleet.io/previous-sign-public-key"
	// RotationReadyAtAnnotation: when the pod with the new keys was first
	// seen ready (RFC 3339); the old key retires a grace after it.
	RotationReadyAtAnnotation = "hsfleet.io/rotation-ready-at"
	// RotationScheduledAnnotation: "true" when spec.identity.rotationPolicy,
	// not a request, started the rotation.
	RotationScheduledAnnotation = "hsfleet.io/rotation-scheduled"
)

// rotationAnnotations are every annotation above, cleared together.
var rotationAnnotations = []string{RotationNextForAnnotation, NextSignPublicKeyAnnotation, NextKxPublicKeyAnnotation,
	RotationPublishedAtAnnotation, PreviousSignPublicKeyAnnotation, RotationReadyAtAnnotation, RotationScheduledAnnotation}

// NextIdentityFileKey is the identity Secret key of the sealed pending
// identity. The pod mounts only IdentityFileKey, so it never sees it.
func NextIdentityFileKey(agent *hsv1.HSAgent) string { return IdentityFileKey(agent) + ".next" }

// rotationState is a rotation in progress as the identity Secret records
// it. Before the swap next* are set; after it, previous is.
type rotationState struct {
	nextFor, nextSign, nextKx string
	publishedAt               time.Time
	previous                  string
	readyAt                   time.Time
	// scheduled: started by the rotation policy, not a request.
	scheduled bool
}

// label names the rotation in messages; rotatedFor is the request the
// agent's keys answer (the pending one before the swap).
func (s rotationState) label(rotatedFor string) string {
	if s.scheduled {
		return "scheduled rotation"
	}
	return fmt.Sprintf("rotation %q", rotatedFor)
}

// pending: new keys exist and are not active yet.
func (s rotationState) pending() bool { return s.nextSign != "" }

// retiring: the keys were swapped and the old sign key is still published.
func (s rotationState) retiring() bool { return s.previous != "" }

// active: a rotation is in progress.
func (s rotationState) active() bool { return s.pending() || s.retiring() }

// otherKeys are the keys peers must accept besides the active one.
func (s rotationState) otherKeys() []string {
	switch {
	case s.pending():
		return []string{s.nextSign}
	case s.retiring():
		return []string{s.previous}
	}
	return nil
}

// rotationFromSecret reads and checks the rotation annotations; the Secret
// is editable by namespace admins, so nothing is trusted.
func rotationFromSecret(sec *corev1.Secret, agent *hsv1.HSAgent, id string) (rotationState, error) {
	a := sec.Annotations
	s := rotationState{nextFor: a[RotationNextForAnnotation], nextSign: a[NextSignPublicKeyAnnotation],
		nextKx: a[NextKxPublicKeyAnnotation], previous: a[PreviousSignPublicKeyAnnotation],
		scheduled: a[RotationScheduledAnnotation] == "true"}
	var err error
	if s.publishedAt, err = parseRotationTime(a, RotationPublishedAtAnnotation); err != nil {
		return rotationState{}, err
	}
	if s.readyAt, err = parseRotationTime(a, RotationReadyAtAnnotation); err != nil {
		return rotationState{}, err
	}
	if s.pending() {
		if err := validateBundleEntry(id, s.nextSign); err != nil {
			return rotationState{}, fmt.Errorf("pending %v", err)
		}
		if raw, err := base64.StdEncoding.DecodeString(s.nextKx); err != nil || len(raw) != 32 {
			return rotationState{}, fmt.Errorf("pending kx key is not base64 of 32 bytes")
		}
		if len(sec.Data[NextIdentityFileKey(agent)]) == 0 {
			return rotationState{}, fmt.Errorf("pending keys without key %q", NextIdentityFileKey(agent))
		}
	}
	if s.retiring() {
		if err := validateBundleEntry(id, s.previous); err != nil {
			return rotationState{}, fmt.Errorf("previous %v", err)
		}
	}
	return s, nil
}

func parseRotationTime(a map[string]string, key string) (time.Time, error) {
	v, ok := a[key]
	if !ok || v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("annotation %s is not an RFC 3339 time", key)
	}
	return t, nil
}

// setRotationAnnotations records s on sec, removing what s leaves unset.
func setRotationAnnotations(sec *corev1.Secret, s rotationState) {
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	for _, k := range rotationAnnotations {
		delete(sec.Annotations, k)
	}
	set := func(k, v string) {
		if v != "" {
			sec.Annotations[k] = v
		}
	}
	set(RotationNextForAnnotation, s.nextFor)
	set(NextSignPublicKeyAnnotation, s.nextSign)
	set(NextKxPublicKeyAnnotation, s.nextKx)
	set(PreviousSignPublicKeyAnnotation, s.previous)
	if s.scheduled {
		sec.Annotations[RotationScheduledAnnotation] = "true"
	}
	if !s.publishedAt.IsZero() {
		sec.Annotations[RotationPublishedAtAnnotation] = s.publishedAt.UTC().Format(time.RFC3339Nano)
	}
	if !s.readyAt.IsZero() {
		sec.Annotations[RotationReadyAtAnnotation] = s.readyAt.UTC().Format(time.RFC3339Nano)
	}
}

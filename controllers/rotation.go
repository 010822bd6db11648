package controllers

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/hsfleet/hsfleet/agent/crypto"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// Rotating condition reasons, one per step of a rotation with overlap.
const (
	// ReasonRotationPublishing: new keys are pending and the trust bundle
	// lists both keys; waiting for it to reach every peer.
	ReasonRotationPublishing = "PublishingNewKey"
	// ReasonRotationRetiring: the pod with the new keys is ready; the old
	// key stays in the bundle for the retire grace.
	ReasonRotationRetiring = "RetiringOldKey"
	// ReasonRotationStepFailed: a step of a rotation in progress failed;
	// it is retried and the rotation resumes where it stopped.
	ReasonRotationStepFailed = "RotationStepFailed"
	// (ReasonRollingOut: the keys were swapped; waiting for the new pod.)
)

// Rotation events, stable for alerting.
const (
	EventRotationStarted  = "IdentityRotationStarted"
	EventRotationComplete = "IdentityRotationComplete"
	// EventRotationTOFUPeers: agents in TOFU mode pinned the old key and
	// will refuse the new one.
	EventRotationTOFUPeers = "IdentityRotationTOFUPeers"
)

// rotationProgress is what a rotation waits for after this reconcile: the
// Rotating condition's reason and message. A zero value: no rotation in
// progress.
type rotationProgress struct {
	reason, message string
}

// reconcileRotation advances a key rotation as far as it can in one pass
// (docs/rotation.md):
//
//  1. start: new keys (same agent ID) are sealed into the identity Secret
//     as pending; the active keys and the pod stay as they are;
//  2. publish: the trust bundle lists the active key and the pending one;
//     the time is recorded, and the swap waits PropagationDelay from it;
//  3. swap: the pending keys become the active ones (the pod template's
//     identity hash changes and the pod rolls); the bundle lists the new
//     key first and keeps the old one;
//  4. retire: once the pod with the new keys is ready, plus RetireGrace,
//     the old key leaves the bundle.
//
// Every step is recorded in the identity Secret before the next one runs,
// so a restart resumes the rotation where it stopped. A new request while
// a rotation runs starts after it ends.
func (r *HSAgentReconciler) reconcileRotation(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret, info identityInfo) (identityInfo, error) {
	want := agent.Annotations[hsv1.RotateIdentityAnnotation]
	cfg, now := r.rotationConfig(), r.clock()
	key := types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}
	if !info.rotation.active() {
		scheduled := false
		if want == "" || want == info.RotatedFor {
			due, ok := scheduledRotationDue(agent, info.keysCreatedAt)
			if !ok {
				return info, nil
			}
			if now.Before(due) {
				r.wakeAt(key, due)
				return info, nil
			}
			want, scheduled = info.RotatedFor, true
		}
		started, err := r.startRotation(ctx, agent, sec, info, want, scheduled)
		if err != nil {
			return info, fmt.Errorf("start %s: %w", rotationState{scheduled: scheduled}.label(want), err)
		}
		info = started
	}
	if info.rotation.pending() {
		if err := r.publishRotationKeys(ctx, agent.Namespace, info); err != nil {
			return info, fmt.Errorf("publish the new key in the trust bundle: %w", err)
		}
		if info.rotation.publishedAt.IsZero() {
			stored, err := r.storeRotation(ctx, sec, info, func(s *rotationState) { s.publishedAt = now })
			if err != nil {
				return info, fmt.Errorf("record the publication: %w", err)
			}
			info = stored
		}
		if due := info.rotation.publishedAt.Add(cfg.PropagationDelay); now.Before(due) {
			info.progress = rotationProgress{ReasonRotationPublishing, fmt.Sprintf(
				"%s: the trust bundle lists the current and the new key since %s; the pod switches to the new keys at %s (propagation delay %s)",
				info.rotation.label(info.rotation.nextFor), info.rotation.publishedAt.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339), cfg.PropagationDelay)}
			r.wakeAt(key, due)
			return r.withTOFUWarning(ctx, agent, info), nil
		}
		swapped, err := r.swapRotationKeys(ctx, agent, sec, info)
		if err != nil {
			return info, fmt.Errorf("swap in the new keys: %w", err)
		}
		info = swapped
	}
	return r.retireRotation(ctx, agent, sec, info, cfg, now)
}

// retireRotation is steps 3-4 after the swap: keep both keys until the
// new pod is ready plus the grace, then drop the old one.
func (r *HSAgentReconciler) retireRotation(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret, info identityInfo,
	cfg RotationConfig, now time.Time) (identityInfo, error) {
	if err := r.publishRotationKeys(ctx, agent.Namespace, info); err != nil {
		return info, fmt.Errorf("keep the old key in the trust bundle: %w", err)
	}
	ready, why, err := r.rotatedPodReady(ctx, agent, info)
	if err != nil {
		return info, err
	}
	if !ready {
		info.progress = rotationProgress{ReasonRollingOut, fmt.Sprintf(
			"%s: new keys active, the trust bundle still accepts the old key; waiting for the agent pod to roll (%s)", info.rotation.label(info.RotatedFor), why)}
		return r.withTOFUWarning(ctx, agent, info), nil
	}
	if info.rotation.readyAt.IsZero() {
		stored, err := r.storeRotation(ctx, sec, info, func(s *rotationState) { s.readyAt = now })
		if err != nil {
			return info, fmt.Errorf("record the new pod's readiness: %w", err)
		}
		info = stored
	}
	if due := info.rotation.readyAt.Add(cfg.RetireGrace); now.Before(due) {
		info.progress = rotationProgress{ReasonRotationRetiring, fmt.Sprintf(
			"%s: the agent pod runs with the new keys; the old key leaves the trust bundle at %s",
			info.rotation.label(info.RotatedFor), due.UTC().Format(time.RFC3339))}
		r.wakeAt(types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, due)
		return info, nil
	}
	// The bundle first: a crash before the Secret write re-adds the old
	// key and retires it again, never leaves it behind.
	done := info
	done.rotation = rotationState{}
	if err := r.publishRotationKeys(ctx, agent.Namespace, done); err != nil {
		return info, fmt.Errorf("drop the old key from the trust bundle: %w", err)
	}
	stored, err := r.storeRotation(ctx, sec, info, func(s *rotationState) { *s = rotationState{} })
	if err != nil {
		return info, fmt.Errorf("record the end of the rotation: %w", err)
	}
	identityOps.WithLabelValues("rotate_retire", "ok").Inc()
	log.FromContext(ctx).Info("identity rotation complete", "agentID", info.ID, "rotation", info.RotatedFor, "scheduled", info.rotation.scheduled)
	r.normalEvent(agent, EventRotationComplete, "Rotate", "%s of %s complete: the old key left the trust bundle", info.rotation.label(info.RotatedFor), info.ID)
	return stored, nil
}

// startRotation seals new keys into the identity Secret as pending; want
// is the request they answer (for a scheduled rotation, the last one).
func (r *HSAgentReconciler) startRotation(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret, info identityInfo,
	want string, scheduled bool) (identityInfo, error) {
	pass, err := r.readPassphrase(ctx, agent)
	if err != nil {
		return info, err
	}
	current, err := crypto.OpenIdentity(sec.Data[IdentityFileKey(agent)], pass)
	if err != nil {
		return info, fmt.Errorf("open stored identity: %w", err)
	}
	next, err := current.Rotate()
	if err != nil {
		return info, fmt.Errorf("rotate identity: %w", err)
	}
	sealed, err := crypto.SealIdentity(next, pass)
	if err != nil {
		return info, fmt.Errorf("seal rotated identity: %w", err)
	}
	pending := infoFromIdentity(next, want)
	updated := sec.DeepCopy()
	updated.Data[NextIdentityFileKey(agent)] = sealed
	info.rotation = rotationState{nextFor: want, nextSign: pending.SignPublicKey, nextKx: pending.KxPublicKey, scheduled: scheduled}
	setRotationAnnotations(updated, info.rotation)
	if err := r.Client.Update(ctx, updated); err != nil {
		return identityInfo{}, fmt.Errorf("store the new keys: %w", err)
	}
	*sec = *updated
	identityOps.WithLabelValues("rotate_start", "ok").Inc()
	log.FromContext(ctx).Info("identity rotation started", "agentID", info.ID, "rotation", want, "scheduled", scheduled)
	r.normalEvent(agent, EventRotationStarted, "Rotate", "%s of %s: new keys stored, publishing them before the pod switches", info.rotation.label(want), info.ID)
	if n := r.tofuPeers(ctx, agent); n > 0 {
		r.warningEvent(agent, EventRotationTOFUPeers, "Rotate",
			"%d TOFU agent(s) in namespace %s pinned the old key of %s and will refuse its new key until their pin is reset", n, agent.Namespace, info.ID)
	}
	return info, nil
}

// swapRotationKeys makes the pending keys the active ones and keeps the
// old sign key as previous.
func (r *HSAgentReconciler) swapRotationKeys(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret, info identityInfo) (identityInfo, error) {
	rot := info.rotation
	updated := sec.DeepCopy()
	updated.Data[IdentityFileKey(agent)] = updated.Data[NextIdentityFileKey(agent)]
	delete(updated.Data, NextIdentityFileKey(agent))
	next := identityInfo{ID: info.ID, SignPublicKey: rot.nextSign, KxPublicKey: rot.nextKx, RotatedFor: rot.nextFor,
		rotation: rotationState{previous: info.SignPublicKey, scheduled: rot.scheduled}, keysCreatedAt: r.clock()}
	setIdentityAnnotations(updated, next)
	setRotationAnnotations(updated, next.rotation)
	stampKeysCreated(updated, next.keysCreatedAt)
	if err := r.Client.Update(ctx, updated); err != nil {
		return info, err
	}
	*sec = *updated
	identityOps.WithLabelValues("rotate", "ok").Inc()
	log.FromContext(ctx).Info("identity rotated", "agentID", info.ID, "rotation", rot.nextFor)
	r.normalEvent(agent, EventIdentityRotated, "Rotate", "%s: rotated keys of %s; the pod rolls, the old key stays trusted until it is ready", rot.label(rot.nextFor), info.ID)
	return next, nil
}

// storeRotation updates the Secret's rotation annotations.
func (r *HSAgentReconciler) storeRotation(ctx context.Context, sec *corev1.Secret, info identityInfo, mutate func(*rotationState)) (identityInfo, error) {
	rot := info.rotation
	mutate(&rot)
	updated := sec.DeepCopy()
	setRotationAnnotations(updated, rot)
	if err := r.Client.Update(ctx, updated); err != nil {
		return info, err
	}
	*sec = *updated
	info.rotation = rot
	return info, nil
}

// publishRotationKeys makes the agent's bundle entry its active key plus
// the rotation's other key (none outside a rotation).
func (r *HSAgentReconciler) publishRotationKeys(ctx context.Context, namespace string, info identityInfo) error {
	return r.updateBundleDoc(ctx, namespace, func(d bundleDoc) bool {
		return d.setEntry(info.ID, info.SignPublicKey, info.rotation.otherKeys())
	})
}

// rotatedPodReady reports whether the agent's pod runs the active keys and
// is ready; why says what is missing. A paused agent runs no pod, so no
// pod holds the old key.
func (r *HSAgentReconciler) rotatedPodReady(ctx context.Context, agent *hsv1.HSAgent, info identityInfo) (bool, string, error) {
	if agent.Spec.Paused {
		return true, "paused", nil
	}
	var sts appsv1.StatefulSet
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, &sts)
	switch {
	case apierrors.IsNotFound(err):
		return false, "no StatefulSet yet", nil
	case err != nil:
		return false, "", fmt.Errorf("read StatefulSet: %w", err)
	case sts.Spec.Template.Annotations[IdentityHashAnnotation] != info.hash():
		return false, "the StatefulSet does not carry the new keys yet", nil
	}
	status, _, msg := rolloutOf(&sts).availability()
	return status == metav1.ConditionTrue, msg, nil
}

// withTOFUWarning adds to the progress message how many TOFU agents of the
// namespace will refuse the new key: they pinned the old one and trust
// their pin, not the bundle.
func (r *HSAgentReconciler) withTOFUWarning(ctx context.Context, agent *hsv1.HSAgent, info identityInfo) identityInfo {
	if n := r.tofuPeers(ctx, agent); n > 0 {
		info.progress.message += fmt.Sprintf("; %d TOFU agent(s) in the namespace pinned the old key and will refuse the new one until their pin is reset (docs/rotation.md)", n)
	}
	return info
}

// tofuPeers counts the other live TOFU agents of the agent's namespace
// (from the cache; 0 when the list fails).
func (r *HSAgentReconciler) tofuPeers(ctx context.Context, agent *hsv1.HSAgent) int {
	var list hsv1.HSAgentList
	if err := r.Client.List(ctx, &list, client.InNamespace(agent.Namespace)); err != nil {
		return 0
	}
	n := 0
	for i := range list.Items {
		if a := &list.Items[i]; a.Name != agent.Name && a.Spec.TrustMode == hsv1.TrustTOFU && a.DeletionTimestamp.IsZero() {
			n++
		}
	}
	return n
}

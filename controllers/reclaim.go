package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// PassphraseSourceAnnotation on a retained identity Secret records where
// its passphrase lives ("generated" or "secret:<name>/<key>"), so a
// re-created HSAgent whose passphrase could not open it is refused instead
// of rolling a pod that cannot start.
const PassphraseSourceAnnotation = "hsfleet.io/passphrase-source"

const passphraseGenerated = "generated"

var errRetainedIdentityUnusable = errors.New("retained identity Secret cannot be adopted")

// passphraseSource names where the agent's passphrase lives.
func passphraseSource(agent *hsv1.HSAgent) string {
	name, key, generated := passphraseRef(agent)
	if generated {
		return passphraseGenerated
	}
	return "secret:" + name + "/" + key
}

// stateSecrets are the Secrets the reclaim policy applies to: the identity
// and, when the operator generated it, the passphrase. A user's passphrase
// Secret is the user's.
func stateSecrets(agent *hsv1.HSAgent) []string {
	names := []string{IdentitySecretName(agent)}
	if _, _, generated := passphraseRef(agent); generated {
		names = append(names, GeneratedPassphraseSecretName(agent))
	}
	return names
}

// reclaimSecrets applies the reclaim policy to the agent's Secrets during
// deletion. Retain releases them (owner reference removed, so the garbage
// collector keeps them; labelled OrphanedLabel, so a re-created HSAgent may
// adopt them). Delete removes them now rather than leaving key material to
// the garbage collector, which `--cascade=orphan` would skip.
func (r *HSAgentReconciler) reclaimSecrets(ctx context.Context, agent *hsv1.HSAgent) error {
	retain := agent.Spec.EffectiveStateReclaimPolicy() == hsv1.ReclaimRetain
	for _, name := range stateSecrets(agent) {
		var sec corev1.Secret
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: name}, &sec)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read Secret %s/%s: %w", agent.Namespace, name, err)
		}
		if !metav1.IsControlledBy(&sec, agent) {
			continue // not ours to keep or delete
		}
		if retain {
			err = r.releaseSecret(ctx, agent, &sec)
		} else {
			err = r.Client.Delete(ctx, &sec, client.Preconditions{UID: &sec.UID})
			switch {
			case apierrors.IsNotFound(err):
				err = nil
			case apierrors.IsForbidden(err):
				// An install whose RBAC predates the delete verb: the owner
				// reference still lets the garbage collector remove it, so
				// deletion must not hang on it.
				log.FromContext(ctx).Info("may not delete Secret, leaving it to the garbage collector", "secret", name, "error", err.Error())
				r.warningEvent(agent, EventStateDeleteFailed, "Delete", "cannot delete Secret %s (%v); the garbage collector removes it with the HSAgent", name, err)
				err = nil
			}
		}
		if err != nil {
			reclaimOps.WithLabelValues(string(agent.Spec.EffectiveStateReclaimPolicy()), "error").Inc()
			return fmt.Errorf("reclaim Secret %s/%s: %w", agent.Namespace, name, err)
		}
		reclaimOps.WithLabelValues(string(agent.Spec.EffectiveStateReclaimPolicy()), "ok").Inc()
	}
	if retain {
		r.normalEvent(agent, EventStateRetained, "Delete", "stateReclaimPolicy Retain: Secrets %v kept with label %s for a re-created HSAgent %q",
			stateSecrets(agent), hsv1.OrphanedLabel, agent.Name)
	}
	return nil
}

// releaseSecret removes the agent's owner reference and marks the Secret
// as retained. The operator's labels stay, so its cache still sees it.
func (r *HSAgentReconciler) releaseSecret(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret) error {
	patch := client.MergeFromWithOptions(sec.DeepCopy(), client.MergeFromWithOptimisticLock{})
	refs := sec.OwnerReferences[:0]
	for _, ref := range sec.OwnerReferences {
		if ref.UID != agent.UID {
			refs = append(refs, ref)
		}
	}
	sec.OwnerReferences = refs
	if sec.Labels == nil {
		sec.Labels = map[string]string{}
	}
	sec.Labels[hsv1.OrphanedLabel] = "true"
	if sec.Name == IdentitySecretName(agent) {
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		sec.Annotations[PassphraseSourceAnnotation] = passphraseSource(agent)
	}
	return r.Client.Patch(ctx, sec, patch)
}

// retainedFor reports whether sec was released by the deletion of an
// HSAgent of this name and nobody controls it since.
func retainedFor(sec *corev1.Secret, agent *hsv1.HSAgent) bool {
	return sec.Labels[hsv1.OrphanedLabel] == "true" && sec.Labels[AgentLabel] == agent.Name && metav1.GetControllerOf(sec) == nil
}

// reconcileAdoption runs before the identity phase: an HSAgent re-created
// with the name of one deleted under stateReclaimPolicy Retain takes its
// retained Secrets back (owner reference re-added, label removed), so the
// identity phase finds its old identity and agent ID. The identity phase
// then waits for the cache to show the adopted Secret, which its watch
// delivers as an event.
func (r *HSAgentReconciler) reconcileAdoption(ctx context.Context, s *agentScope) error {
	agent := s.agent
	var id corev1.Secret
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: IdentitySecretName(agent)}, &id)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read identity Secret: %w", err)
	}
	if !retainedFor(&id, agent) {
		return nil
	}
	if src := id.Annotations[PassphraseSourceAnnotation]; src != "" && src != passphraseSource(agent) {
		return r.refuseAdoption(agent, fmt.Sprintf("it was sealed with passphrase %s, this HSAgent uses %s; re-create it with the original spec.identity or delete the Secret to start over",
			src, passphraseSource(agent)))
	}
	if _, _, generated := passphraseRef(agent); generated {
		var pass corev1.Secret
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: GeneratedPassphraseSecretName(agent)}, &pass)
		switch {
		case apierrors.IsNotFound(err):
			return r.refuseAdoption(agent, fmt.Sprintf("its passphrase Secret %s is gone; delete the identity Secret to start over with a new identity",
				GeneratedPassphraseSecretName(agent)))
		case err != nil:
			return fmt.Errorf("read passphrase Secret: %w", err)
		case retainedFor(&pass, agent):
			if err := r.adoptSecret(ctx, agent, &pass); err != nil {
				return err
			}
		}
	}
	if err := r.adoptSecret(ctx, agent, &id); err != nil {
		return err
	}
	log.FromContext(ctx).Info("retained identity adopted", "agentID", id.Annotations[AgentIDAnnotation], "secret", id.Name)
	r.normalEvent(agent, EventIdentityAdopted, "Adopt", "adopted retained identity %s from Secret %s",
		id.Annotations[AgentIDAnnotation], id.Name)
	s.waitForCache = true
	return nil
}

func (r *HSAgentReconciler) adoptSecret(ctx context.Context, agent *hsv1.HSAgent, sec *corev1.Secret) error {
	patch := client.MergeFromWithOptions(sec.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if err := controllerutil.SetControllerReference(agent, sec, r.Scheme); err != nil {
		return fmt.Errorf("own retained Secret %s: %w", sec.Name, err)
	}
	delete(sec.Labels, hsv1.OrphanedLabel)
	delete(sec.Annotations, PassphraseSourceAnnotation)
	if err := r.Client.Patch(ctx, sec, patch); err != nil {
		reclaimOps.WithLabelValues("adopt", "error").Inc()
		return fmt.Errorf("adopt retained Secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	reclaimOps.WithLabelValues("adopt", "ok").Inc()
	return nil
}

// refuseAdoption stops at a retained identity this HSAgent cannot use;
// only a change by the user (spec, or deleting the Secret) fixes it.
func (r *HSAgentReconciler) refuseAdoption(agent *hsv1.HSAgent, why string) error {
	err := fmt.Errorf("%w: Secret %s/%s: %s", errRetainedIdentityUnusable, agent.Namespace, IdentitySecretName(agent), why)
	setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonRetainedIdentityUnusable, truncateMessage(err.Error()))
	r.warningEvent(agent, EventIdentityFailed, "Adopt", "%s", truncateMessage(err.Error()))
	return reconcile.TerminalError(err)
}

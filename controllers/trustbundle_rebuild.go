package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// bundleFromAgents rebuilds the namespace trust bundle from its source of
// truth: every live HSAgent's identity Secret (its public-key annotations,
// and the other key of a rotation in progress).
// Rebuilding only the reconciling agent's entry would lock every other
// fleet-mode peer out until each one reconciles again. Agents being
// deleted are left out, so a rebuild cannot resurrect an entry their
// finalizer already removed; agents whose Secret is missing or unreadable
// are left out and logged (their own reconcile reports why).
func (r *HSAgentReconciler) bundleFromAgents(ctx context.Context, namespace string) (bundleDoc, error) {
	var agents hsv1.HSAgentList
	if err := r.Client.List(ctx, &agents, client.InNamespace(namespace)); err != nil {
		return bundleDoc{}, fmt.Errorf("list HSAgents in %s to rebuild the trust bundle: %w", namespace, err)
	}
	logger := log.FromContext(ctx)
	bundle := newBundleDoc()
	for i := range agents.Items {
		agent := &agents.Items[i]
		if !agent.DeletionTimestamp.IsZero() {
			continue
		}
		var sec corev1.Secret
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: IdentitySecretName(agent)}, &sec); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return bundleDoc{}, fmt.Errorf("read identity Secret of %s/%s to rebuild the trust bundle: %w", namespace, agent.Name, err)
			}
			continue // no identity yet: nothing to publish
		}
		info, err := identityFromSecret(&sec, agent)
		if err != nil {
			logger.Info("trust bundle rebuild skips an agent", "hsagent", agent.Name, "error", err.Error())
			continue
		}
		bundle.setEntry(info.ID, info.SignPublicKey, info.rotation.otherKeys())
	}
	return bundle, nil
}

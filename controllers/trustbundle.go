package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// trustBundleBackoff bounds optimistic-locking retries (client-go's
// retry.OnError). Every agent in a namespace writes the same ConfigMap, so
// conflicts are expected under a burst of creations; the jittered backoff
// spreads the writers out, and past its steps (~2.5 s) the reconcile fails
// and is retried later by the work queue.
var trustBundleBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.5, Cap: time.Second}

// updateTrustBundle applies mutate to the primary keys of the namespace
// trust bundle with optimistic locking. Each agent only ever adds, changes
// or removes its own entry, so concurrent writers never undo each other.
// A rotating agent's other keys stay as they are (the rotation writes them
// with updateBundleDoc); a removed agent's go with it.
func (r *HSAgentReconciler) updateTrustBundle(ctx context.Context, namespace string, mutate func(trustBundle) bool) error {
	return r.updateBundleDoc(ctx, namespace, func(d bundleDoc) bool { return mutate(d.keys) })
}

// updateBundleDoc is updateTrustBundle over the whole document, rotation
// overlap included.
func (r *HSAgentReconciler) updateBundleDoc(ctx context.Context, namespace string, mutate func(bundleDoc) bool) error {
	logger := log.FromContext(ctx)
	var reader client.Reader = r.Client // the cache first; the API server after a conflict
	key := types.NamespacedName{Namespace: namespace, Name: TrustBundleName}
	attempt := func() error {
		var cm corev1.ConfigMap
		err := reader.Get(ctx, key, &cm)
		if apierrors.IsNotFound(err) {
			bundle := newBundleDoc()
			if !mutate(bundle) {
				return nil
			}
			bundle.pruneOverlap()
			err = r.createTrustBundle(ctx, namespace, bundle)
			if apierrors.IsAlreadyExists(err) {
				reader = r.APIReader
			}
			return err
		}
		if err != nil {
			return fmt.Errorf("read trust bundle %s: %w", key, err)
		}

		bundle, dropped, perr := r.bundles.parse(namespace, cm.ResourceVersion, cm.Data[TrustBundleKey])
		if perr != nil {
			invalidObjects.WithLabelValues("trust-bundle").Inc()
			logger.Error(perr, "trust bundle unreadable, rebuilding it from the namespace's agents", "configmap", key.String())
			if bundle, err = r.bundleFromAgents(ctx, namespace); err != nil {
				return err
			}
		} else if dropped > 0 {
			// A dropped entry may be another agent's: put back every
			// agent's entry from its identity Secret.
			invalidObjects.WithLabelValues("trust-bundle-entry").Add(float64(dropped))
			logger.Info("dropping malformed trust bundle entries, restoring agents' entries", "configmap", key.String(), "dropped", dropped)
			rebuilt, err := r.bundleFromAgents(ctx, namespace)
			if err != nil {
				return err
			}
			for id, signPub := range rebuilt.keys {
				bundle.setEntry(id, signPub, rebuilt.overlap[id])
			}
		}
		changed := mutate(bundle)
		changed = bundle.pruneOverlap() || changed
		labelled := cm.Labels[ManagedByLabel] == ManagedByValue
		if !changed && perr == nil && dropped == 0 && labelled {
			return nil
		}
		data, err := bundle.encode()
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[TrustBundleKey] = data
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		cm.Labels[ManagedByLabel] = ManagedByValue // keep it visible to the label-selected cache
		err = r.Client.Update(ctx, &cm)            // resourceVersion makes this a compare-and-set
		switch {
		case err == nil:
			trustBundleWrites.WithLabelValues("ok").Inc()
			return nil
		case apierrors.IsConflict(err):
			trustBundleWrites.WithLabelValues("conflict").Inc()
			reader = r.APIReader
			return err
		default:
			trustBundleWrites.WithLabelValues("error").Inc()
			return fmt.Errorf("write trust bundle %s: %w", key, err)
		}
	}
	contended := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(trustBundleBackoff, contended, attempt)
	if contended(err) {
		return fmt.Errorf("write trust bundle %s: %w", key, errTrustBundleContended)
	}
	return err
}

var errTrustBundleContended = errors.New("too many concurrent updates, will retry")

func (r *HSAgentReconciler) createTrustBundle(ctx context.Context, namespace string, bundle bundleDoc) error {
	data, err := bundle.encode()
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      TrustBundleName,
			Namespace: namespace,
			Labels:    map[string]string{ManagedByLabel: ManagedByValue, "app.kubernetes.io/name": "hsfleet-trust"},
		},
		Data: map[string]string{TrustBundleKey: data},
	}
	if err := r.Client.Create(ctx, cm); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			trustBundleWrites.WithLabelValues("error").Inc()
			err = fmt.Errorf("create trust bundle %s/%s: %w", namespace, TrustBundleName, err)
		}
		return err
	}
	trustBundleWrites.WithLabelValues("ok").Inc()
	return nil
}

package controllers

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// podStopPollInterval re-checks a stopping agent pod; StatefulSet status
// changes also trigger a reconcile through Owns, this is the safety net.
const podStopPollInterval = 2 * time.Second

// stopAgentPod scales the agent's StatefulSet to zero and reports whether
// its pod is gone. A running (or terminating) agent keeps writing its rows,
// so they may only be deleted after it stopped. The StatefulSet controller's
// status is the witness: status.replicas counts every pod it still has,
// terminating ones included, once it observed the scale-down.
func (r *HSAgentReconciler) stopAgentPod(ctx context.Context, agent *hsv1.HSAgent) (stopped bool, err error) {
	var sts appsv1.StatefulSet
	err = r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, &sts)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read StatefulSet %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	if !metav1.IsControlledBy(&sts, agent) {
		return true, nil // not ours: nothing of this agent runs in it
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
		patch := client.MergeFromWithOptions(sts.DeepCopy(), client.MergeFromWithOptimisticLock{})
		zero := int32(0)
		sts.Spec.Replicas = &zero
		if err := r.Client.Patch(ctx, &sts, patch); err != nil {
			return false, fmt.Errorf("scale StatefulSet %s/%s to zero: %w", agent.Namespace, agent.Name, err)
		}
		log.FromContext(ctx).Info("agent StatefulSet scaled to zero before cleanup", "statefulset", agent.Name)
		return false, nil
	}
	return sts.Status.ObservedGeneration >= sts.Generation && sts.Status.Replicas == 0, nil
}

// pastCleanupGrace reports whether the deletion has waited long enough for
// the pod or the database to give up on them.
func (r *HSAgentReconciler) pastCleanupGrace(agent *hsv1.HSAgent) bool {
	return agent.DeletionTimestamp != nil && r.now().Sub(agent.DeletionTimestamp.Time) > r.Config.StateCleanupGrace
}

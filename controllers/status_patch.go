package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// statusConflictRetry is how soon a reconcile whose status patch lost a
// race runs again; by then the cache has seen the winning write.
const statusConflictRetry = 200 * time.Millisecond

// errStatusConflict: the object changed since the reconcile read it, so its
// status patch was refused rather than overwrite the other writer.
var errStatusConflict = errors.New("status patch conflict")

// patchStatus writes status with a merge patch when it changed. The patch
// carries the resourceVersion the reconcile read (optimistic lock): a merge
// patch replaces whole lists, so a blind patch computed from a stale copy
// would drop a condition another writer (a second controller, kubectl, a
// lagging cache's own earlier write) set meanwhile. A conflict comes back as
// errStatusConflict and the reconcile is requeued to recompute from a fresh
// read.
func (r *HSAgentReconciler) patchStatus(ctx context.Context, before, agent *hsv1.HSAgent) error {
	if equality.Semantic.DeepEqual(before.Status, agent.Status) {
		return nil
	}
	err := r.Client.Status().Patch(ctx, agent, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil:
		statusPatches.WithLabelValues("ok").Inc()
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		statusPatches.WithLabelValues("conflict").Inc()
		return fmt.Errorf("%w: %s/%s: %v", errStatusConflict, agent.Namespace, agent.Name, err)
	default:
		statusPatches.WithLabelValues("error").Inc()
		return fmt.Errorf("patch status: %w", err)
	}
}

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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// DefaultStateCleanupGrace is how long deletion waits for an unreachable
// database before giving up on deleting the agent's rows, so a namespace
// teardown that removes the database first cannot hang on the finalizer.
const DefaultStateCleanupGrace = 10 * time.Minute

// ensureFinalizer adds the cleanup finalizer before anything is created.
func (r *HSAgentReconciler) ensureFinalizer(ctx context.Context, agent *hsv1.HSAgent) error {
	if controllerutil.ContainsFinalizer(agent, hsv1.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(agent.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(agent, hsv1.Finalizer)
	if err := r.Client.Patch(ctx, agent, patch); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// reconcileDelete stops the agent's pod, then removes its database rows
// (unless retained) and its trust bundle entry, applies the reclaim policy
// to its identity and passphrase Secrets (reclaim.go), then releases the
// finalizer. Rows are only deleted once the pod is gone, or a dying agent
// would write them back. The StatefulSet goes with the HSAgent through its
// owner reference.
func (r *HSAgentReconciler) reconcileDelete(ctx context.Context, s *agentScope) (ctrl.Result, error) {
	agent := s.agent
	// Gone from its peers' status from the next poll on, whatever the
	// reclaim policy leaves in the database (statushub_departed.go).
	agentID := r.storedAgentID(ctx, agent)
	r.hub.Depart(types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, agentID)
	if !controllerutil.ContainsFinalizer(agent, hsv1.Finalizer) {
		return ctrl.Result{}, nil
	}
	stopped, err := r.stopAgentPod(ctx, agent)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !stopped {
		if !r.pastCleanupGrace(agent) {
			return ctrl.Result{RequeueAfter: podStopPollInterval}, nil
		}
		// A pod stuck terminating (lost node) past the grace period must
		// not block a namespace teardown forever; it cannot reach the
		// database either, most likely.
		log.FromContext(ctx).Info("agent pod still present after the cleanup grace period, cleaning up anyway")
		r.warningEvent(agent, EventStateDeleteFailed, "Delete", "agent pod not gone after %s; deleting its state anyway", r.Config.StateCleanupGrace)
	}
	if agentID != "" {
		if err := r.deleteAgentState(ctx, agent, agentID); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.updateTrustBundle(ctx, agent.Namespace, func(b trustBundle) bool { return b.remove(agentID) }); err != nil {
			return ctrl.Result{}, fmt.Errorf("remove trust bundle entry: %w", err)
		}
	}
	if err := r.reclaimSecrets(ctx, agent); err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFromWithOptions(agent.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(agent, hsv1.Finalizer)
	if err := r.Client.Patch(ctx, agent, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	return ctrl.Result{}, nil
}

// storedAgentID prefers the identity Secret (the source of truth) and falls
// back to status when the Secret is already gone.
func (r *HSAgentReconciler) storedAgentID(ctx context.Context, agent *hsv1.HSAgent) string {
	var sec corev1.Secret
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: IdentitySecretName(agent)}, &sec); err == nil {
		if info, err := identityFromSecret(&sec, agent); err == nil {
			return info.ID
		}
	}
	if validateAgentID(agent.Status.AgentID) == nil {
		return agent.Status.AgentID
	}
	return ""
}

func validateAgentID(id string) error {
	if !agentIDPattern.MatchString(id) {
		return fmt.Errorf("invalid agent ID %.40q", id)
	}
	return nil
}

func (r *HSAgentReconciler) deleteAgentState(ctx context.Context, agent *hsv1.HSAgent, agentID string) error {
	logger := log.FromContext(ctx)
	if agent.Spec.EffectiveStateReclaimPolicy() == hsv1.ReclaimRetain {
		r.normalEvent(agent, EventStateRetained, "Delete", "stateReclaimPolicy Retain: rows of %s kept", agentID)
		return nil
	}
	dbCtx, cancel := context.WithTimeout(ctx, r.Config.DatabaseTimeout)
	defer cancel()
	db, err := r.openAgentStore(dbCtx, agent)
	if errors.Is(err, errDatabaseSecretMissing) {
		db, err = r.openDeletedSecretStore(dbCtx, agent, err)
	}
	if err == nil {
		err = db.DeleteAgentState(dbCtx, agentID)
		if err != nil {
			databaseErrors.WithLabelValues("delete").Inc()
		}
	}
	if !errors.Is(err, errNoDatabase) { // no database: no rows to delete, nothing failed
		reclaimOps.WithLabelValues(reclaimOpRows, resultOf(err)).Inc()
	}
	if err == nil {
		logger.Info("agent state deleted", "agent_id", agentID)
		r.normalEvent(agent, EventStateDeleted, "Delete", "deleted database rows of %s", agentID)
		if err := r.recordRowsLeft(ctx, agent.Namespace, agentID, false); err != nil {
			logger.Info("cannot clear the departed-agent record", "agent_id", agentID, "error", err.Error())
		}
		return nil
	}
	// Rows may stay: recorded so that a restarted operator still hides the
	// agent from its peers (departed_record.go). Best effort: a namespace
	// being deleted refuses new objects, and the rows' peers go with it.
	if !errors.Is(err, errNoDatabase) {
		if rerr := r.recordRowsLeft(ctx, agent.Namespace, agentID, true); rerr != nil {
			logger.Info("cannot record the agent whose rows are left", "agent_id", agentID, "error", rerr.Error())
		}
	}
	// No database to clean, or it stayed away past the grace period: let
	// the deletion finish rather than block a namespace teardown forever.
	msg := redactDSN(err.Error(), "")
	giveUp := errors.Is(err, errNoDatabase) || errors.Is(err, errDatabaseSecretMissing) || r.pastCleanupGrace(agent)
	if giveUp {
		logger.Info("agent state left in the database", "agent_id", agentID, "error", msg)
		r.warningEvent(agent, EventStateRetained, "Delete", "rows of %s not deleted: %s", agentID, msg)
		return nil
	}
	r.warningEvent(agent, EventStateDeleteFailed, "Delete", "deleting rows of %s failed, will retry: %s", agentID, msg)
	r.markRowsDeleteFailed(ctx, agent, msg)
	return fmt.Errorf("delete agent state %s: %w", agentID, err)
}

// openDeletedSecretStore opens the database of an agent whose database
// Secret is already gone, with the DSN it held when the operator last read
// it: in a namespace teardown the Secret and the HSAgent are deleted in no
// particular order, and the rows live in a database that outlives the
// namespace. missing is returned when the DSN was never seen.
func (r *HSAgentReconciler) openDeletedSecretStore(ctx context.Context, agent *hsv1.HSAgent, missing error) (agentStateStore, error) {
	dsn, ok := r.dsns.lastKnown(agent.Namespace, r.databaseSecret(agent))
	if !ok {
		return nil, missing
	}
	log.FromContext(ctx).Info("database Secret gone; deleting the agent's rows with the DSN it last held")
	return r.Stores.Get(ctx, dsn)
}

// markRowsDeleteFailed shows the failing row deletion in status
// (StateReclaimed=False) while the finalizer retries. Best effort: the
// Event and the metric already say it, and a conflict is rewritten by the
// next retry.
func (r *HSAgentReconciler) markRowsDeleteFailed(ctx context.Context, agent *hsv1.HSAgent, msg string) {
	before := agent.DeepCopy()
	setCondition(agent, hsv1.ConditionStateReclaimed, metav1.ConditionFalse, ReasonRowsDeleteFailed,
		"deleting the agent's database rows failed, retrying until --finalizer-database-grace: "+msg)
	if err := r.patchStatus(ctx, before, agent); err != nil {
		log.FromContext(ctx).Info("cannot set StateReclaimed=False", "error", err.Error())
	}
}

// reclaimOpRows is the reclaim metric's op for deleting an agent's rows;
// result "error" alerts on rows that could not be deleted (the database
// failed) while the finalizer retries.
const reclaimOpRows = "rows"

func resultOf(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

package controllers

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// reconcileHandshakeStatus registers the agent with the status hub and
// copies the hub's latest view into status. It never touches the database:
// the hub polls each database once per interval for all its agents and
// enqueues an agent when its view changed. Database trouble is reported in
// the Handshaking condition, never as a reconcile error, and the last known
// numbers stay.
func (r *HSAgentReconciler) reconcileHandshakeStatus(ctx context.Context, s *agentScope) error {
	agent := s.agent
	if s.identity == nil {
		return nil
	}
	secret := r.databaseSecret(agent)
	if secret.Name == "" {
		r.hub.Untrack(types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name})
		r.databaseTrouble(ctx, agent, "open", errNoDatabase)
		return nil
	}
	v := r.hub.Track(types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, s.identity.ID, secret,
		staleWindow(r.cycleInterval(agent)))
	switch {
	case v == nil:
		if c := meta.FindStatusCondition(agent.Status.Conditions, hsv1.ConditionHandshaking); c == nil || c.Reason == ReasonReconciling {
			setCondition(agent, hsv1.ConditionHandshaking, metav1.ConditionUnknown, ReasonWaitingForStatusPoll,
				"waiting for the operator's next database poll")
		}
	case v.err != nil:
		r.databaseTrouble(ctx, agent, v.op, v.err)
	default:
		v.apply(agent)
	}
	return nil
}

var errDatabaseQuery = errors.New("database query failed")

func (r *HSAgentReconciler) databaseTrouble(ctx context.Context, agent *hsv1.HSAgent, op string, err error) {
	reason := ReasonDatabaseUnreachable
	switch {
	case errors.Is(err, errNoDatabase):
		reason = ReasonNoDatabase
	case errors.Is(err, errDatabaseSecretMissing):
		reason = ReasonDatabaseSecretMissing
	case errors.Is(err, errDatabaseSecretInvalid):
		reason = ReasonDatabaseSecretInvalid
	case errors.Is(err, errDatabaseDSNUnsupported):
		reason = ReasonDatabaseDSNUnsupported
	case errors.Is(err, errDatabaseQuery):
		reason = ReasonDatabaseQueryFailed
	}
	// Belt and braces: whatever the driver quoted, no credentials in status.
	msg := redactDSN(err.Error(), "")
	log.FromContext(ctx).Info("agent status from database unavailable", "op", op, "reason", reason, "error", msg)
	// One event per change of trouble, not one per status refresh.
	if prev := meta.FindStatusCondition(agent.Status.Conditions, hsv1.ConditionHandshaking); prev == nil || prev.Reason != reason {
		r.warningEvent(agent, EventDatabaseUnavailable, "ReadStatus", "%s", truncateMessage(msg))
	}
	setCondition(agent, hsv1.ConditionHandshaking, metav1.ConditionUnknown, reason, msg)
}

package controllers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// maxStatusString bounds strings copied from the database into status.
const maxStatusString = 253

// reconcileHandshakeStatus copies the agent's peers and cycles from the
// store into status. Database trouble is reported in the Handshaking
// condition, never as a reconcile error: the last known numbers stay and
// the periodic requeue tries again.
func (r *HSAgentReconciler) reconcileHandshakeStatus(ctx context.Context, s *agentScope) error {
	agent := s.agent
	if s.identity == nil {
		return nil
	}
	dbCtx, cancel := context.WithTimeout(ctx, r.Config.DatabaseTimeout)
	defer cancel()
	db, err := r.openAgentStore(dbCtx, agent)
	if err != nil {
		r.databaseTrouble(ctx, agent, "open", err)
		return nil
	}
	sum, err := db.Summary(dbCtx, s.identity.ID, hsv1.MaxStatusPeers)
	if err != nil {
		databaseErrors.WithLabelValues("summary").Inc()
		r.databaseTrouble(ctx, agent, "summary", fmt.Errorf("%w: %v", errDatabaseQuery, err))
		return nil
	}
	applySummary(agent, sum)

	now := r.now()
	switch {
	case sum.LastCycleAt != nil && now.Sub(*sum.LastCycleAt) <= r.Config.HandshakeWindow:
		setCondition(agent, hsv1.ConditionHandshaking, metav1.ConditionTrue, ReasonCyclesCompleted,
			"last cycle completed at "+sum.LastCycleAt.UTC().Format(time.RFC3339))
	case sum.LastCycleAt != nil:
		setCondition(agent, hsv1.ConditionHandshaking, metav1.ConditionFalse, ReasonNoRecentCycles,
			fmt.Sprintf("no cycle completed in the last %s", r.Config.HandshakeWindow))
	default:
		setCondition(agent, hsv1.ConditionHandshaking, metav1.ConditionFalse, ReasonNoRecentCycles, "no cycle completed yet")
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

// applySummary copies a store summary into status. The database is shared
// with every agent, so its content is bounded before it reaches etcd.
func applySummary(agent *hsv1.HSAgent, sum store.AgentSummary) {
	agent.Status.PeerCount = clampInt32(sum.PeerCount)
	agent.Status.Cycles = max(sum.Cycles, 0)
	agent.Status.LastCycleTime = metaTime(sum.LastCycleAt)
	n := min(len(sum.Peers), hsv1.MaxStatusPeers)
	peers := make([]hsv1.PeerStatus, 0, n)
	for _, p := range sum.Peers[:n] {
		peers = append(peers, hsv1.PeerStatus{
			AgentID:       bound(p.PeerID),
			Name:          bound(p.Name),
			Role:          bound(p.Role),
			State:         bound(p.State),
			Cycles:        max(p.Cycles, 0),
			LastCycleTime: metaTime(p.LastCycleAt),
			Secure:        p.Secure,
		})
	}
	agent.Status.Peers = peers
}

func bound(s string) string {
	if len(s) > maxStatusString {
		return s[:maxStatusString]
	}
	return s
}

func clampInt32(n int) int32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return int32(n)
}

// metaTime truncates to seconds, the precision metav1.Time serialises, so a
// re-read status compares equal and is not patched again.
func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

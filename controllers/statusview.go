package controllers

import (
	"fmt"
	"math"
	"reflect"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// maxStatusString bounds strings copied from the database into status.
const maxStatusString = 253

// Minimum stale window and its multiple of the cycle interval: a peer is
// stale when it completed no cycle within max(staleIntervals × cycle
// interval, minStaleWindow).
const (
	staleIntervals = 6
	minStaleWindow = time.Minute
)

// staleWindow is how long a peer may go without a completed cycle before it
// counts in status.stalePeers.
func staleWindow(cycleInterval time.Duration) time.Duration {
	return max(staleIntervals*cycleInterval, minStaleWindow)
}

// agentView is one agent's database-derived status from one poll: either
// a summary or the database trouble that prevented it. Immutable once made.
type agentView struct {
	sum             store.FleetAgentSummary
	staleAfter      time.Duration
	handshakeWindow time.Duration
	polledAt        time.Time

	op  string // what failed: "open" or "summary"
	err error
}

// changeFrom classifies how v differs from o, the view last sent: urgent
// (database trouble, peer count, the Handshaking state), detail (stale
// peers, the sampled peers' identity or secure), counters (cycle counts,
// cycle times, sampled states: followed at the coarse counter cadence) or
// none.
func (v *agentView) changeFrom(o *agentView) statusChange {
	if (v.err == nil) != (o.err == nil) {
		return changeUrgent
	}
	if v.err != nil {
		if v.op == o.op && v.err.Error() == o.err.Error() {
			return changeNone
		}
		return changeUrgent
	}
	a, b := v.sum, o.sum
	if a.PeerCount != b.PeerCount || v.handshaking().Status != o.handshaking().Status {
		return changeUrgent
	}
	if a.StalePeers != b.StalePeers || len(a.Sample) != len(b.Sample) {
		return changeDetail
	}
	for i := range a.Sample {
		pa, pb := a.Sample[i], b.Sample[i]
		if pa.PeerID != pb.PeerID || pa.Name != pb.Name || pa.Role != pb.Role || pa.Secure != pb.Secure {
			return changeDetail
		}
	}
	if !reflect.DeepEqual(a, b) {
		return changeCounters
	}
	return changeNone
}

// handshaking is the Handshaking condition at poll time. Messages are
// stable (no timestamps), so an unchanged state writes nothing.
func (v *agentView) handshaking() metav1.Condition {
	last := v.sum.LastCycleAt
	switch {
	case last != nil && v.polledAt.Sub(*last) <= v.handshakeWindow:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: ReasonCyclesCompleted,
			Message: fmt.Sprintf("a cycle completed within the last %s", v.handshakeWindow)}
	case last != nil:
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonNoRecentCycles,
			Message: fmt.Sprintf("no cycle completed in the last %s", v.handshakeWindow)}
	default:
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonNoRecentCycles, Message: "no cycle completed yet"}
	}
}

// peersCycling is the PeersCycling condition.
func (v *agentView) peersCycling() metav1.Condition {
	peers, stale := clampInt32(int64(v.sum.PeerCount)), clampInt32(int64(v.sum.StalePeers))
	switch {
	case peers == 0:
		return metav1.Condition{Status: metav1.ConditionUnknown, Reason: ReasonNoPeers, Message: "no peer is known yet"}
	case stale == 0:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: ReasonAllPeersCycling,
			Message: fmt.Sprintf("every peer completed a cycle within the last %s", v.staleAfter)}
	default:
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonPeersNotCycling,
			Message: fmt.Sprintf("%d of %d peers completed no cycle within the last %s", stale, peers, v.staleAfter)}
	}
}

// apply copies a successful view into status, bounded: the database is
// shared with every agent, so its content is untrusted.
func (v *agentView) apply(agent *hsv1.HSAgent) {
	s := v.sum
	st := &agent.Status
	st.PeerCount = clampInt32(int64(s.PeerCount))
	st.Cycles = max(s.Cycles, 0)
	st.VerifiedCycles = min(max(s.VerifiedCycles, 0), st.Cycles)
	st.UnverifiedCycles = st.Cycles - st.VerifiedCycles
	st.StalePeers = clampInt32(int64(s.StalePeers))
	st.LastCycleTime = metaTime(s.LastCycleAt)
	n := min(len(s.Sample), hsv1.StatusPeerSample)
	peers := make([]hsv1.PeerStatus, 0, n)
	for _, p := range s.Sample[:n] {
		peers = append(peers, hsv1.PeerStatus{
			AgentID:        bound(p.PeerID),
			Name:           bound(p.Name),
			Role:           bound(p.Role),
			State:          bound(p.State),
			Cycles:         max(p.Cycles, 0),
			VerifiedCycles: min(max(p.VerifiedCycles, 0), max(p.Cycles, 0)),
			LastCycleTime:  metaTime(p.LastCycleAt),
			Secure:         p.Secure,
		})
	}
	st.Peers = peers
	for typ, c := range map[string]metav1.Condition{
		hsv1.ConditionHandshaking:  v.handshaking(),
		hsv1.ConditionPeersCycling: v.peersCycling(),
	} {
		setCondition(agent, typ, c.Status, c.Reason, c.Message)
	}
}

func bound(s string) string {
	if len(s) > maxStatusString {
		return s[:maxStatusString]
	}
	return s
}

func clampInt32(n int64) int32 {
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

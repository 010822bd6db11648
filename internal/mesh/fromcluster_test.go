package mesh

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestFromHSAgents(t *testing.T) {
	last := metav1.NewTime(t0.Add(-time.Second))
	avail := []metav1.Condition{{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionTrue}}
	items := []v1alpha1.HSAgent{
		{ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: "ns"}, Status: v1alpha1.HSAgentStatus{AgentID: "a", Conditions: avail,
			Peers: []v1alpha1.PeerStatus{{AgentID: "b", Role: "initiator", Cycles: 3, VerifiedCycles: 3, LastCycleTime: &last, Secure: true}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bob", Namespace: "ns"}, Status: v1alpha1.HSAgentStatus{AgentID: "b",
			Peers: []v1alpha1.PeerStatus{{AgentID: "a", Role: "responder", Cycles: 4}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "ns"}}, // no identity yet
	}
	v := Build(t0, time.Minute, FromHSAgents(items))
	if len(v.Agents) != 3 || v.Agents[0].Name != "alice" || !*v.Agents[0].Ready || *v.Agents[1].Ready || v.Agents[2].ID != "ns/new" {
		t.Fatalf("agents = %+v", v.Agents)
	}
	if c := v.Cells[0][1]; c.Cycles != 4 || c.Status != StatusOK || !c.Verified || c.AgeSec != 1 {
		t.Errorf("alice -> bob = %+v", c)
	}
	if c := v.Cells[1][0]; c.Status != StatusNever {
		t.Errorf("bob -> alice = %+v; want never", c)
	}
}

// TestFromHSAgentsVerifiedNeedsVerifiedCycles: from status, a secure peer
// with no verified cycle (Python, open mode: an encrypted session only)
// shows its cycles but not "#"; one with verified cycles does.
func TestFromHSAgentsVerifiedNeedsVerifiedCycles(t *testing.T) {
	last := metav1.NewTime(t0.Add(-time.Second))
	items := []v1alpha1.HSAgent{{ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: "ns"}, Status: v1alpha1.HSAgentStatus{AgentID: "a",
		Peers: []v1alpha1.PeerStatus{
			{AgentID: "py", Role: "initiator", Cycles: 5, LastCycleTime: &last, Secure: true},
			{AgentID: "bind", Role: "initiator", Cycles: 5, VerifiedCycles: 5, LastCycleTime: &last, Secure: true},
			{AgentID: "downgraded", Role: "initiator", Cycles: 5, VerifiedCycles: 4, LastCycleTime: &last, Secure: false},
		}}}}
	v := Build(t0, time.Minute, FromHSAgents(items))
	byName := map[string]int{}
	for i, a := range v.Agents {
		byName[a.ID] = i
	}
	for peer, want := range map[string]bool{"py": false, "bind": true, "downgraded": false} {
		c := v.Cells[byName["a"]][byName[peer]]
		if c.Status != StatusOK || c.Cycles != 5 || c.Verified != want {
			t.Errorf("a -> %s = %+v; want ok, 5 cycles, verified %v", peer, c, want)
		}
	}
}

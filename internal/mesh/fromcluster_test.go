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
			Peers: []v1alpha1.PeerStatus{{AgentID: "b", Role: "initiator", Cycles: 3, LastCycleTime: &last, Secure: true}}}},
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

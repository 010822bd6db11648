package mesh

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
)

// FromHSAgents turns HSAgent status into mesh data. Status lists a stable
// sample of v1alpha1.StatusPeerSample peers per agent, so larger fleets
// show the rest as never cycled from that side (Truncated is set); the
// other side's sample may fill some of them. The database source
// (ReadStores) has every pair.
// Status has no time of the last verified cycle: a peer counts its last
// cycle as verified when it is secure with verified cycles, which the
// operator sets only while a verified cycle completed within the agent's
// stale window (v1alpha1.PeerStatus.Secure); a peer that never verified a
// cycle (Python, open mode) never does. Names are namespace/name when the
// list spans namespaces.
func FromHSAgents(items []v1alpha1.HSAgent) Data {
	multiNS := false
	for _, a := range items {
		multiNS = multiNS || a.Namespace != items[0].Namespace
	}
	var d Data
	for _, a := range items {
		id := a.Status.AgentID
		if id == "" { // no identity yet: still shown, by its object name
			id = a.Namespace + "/" + a.Name
		}
		name := a.Name
		if multiNS {
			name = a.Namespace + "/" + a.Name
		}
		ready := meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionAvailable)
		d.Agents = append(d.Agents, Agent{ID: id, Name: name, Ready: &ready})
		if int(a.Status.PeerCount) > len(a.Status.Peers) {
			d.Truncated = true
		}
		for _, p := range a.Status.Peers {
			d.Rows = append(d.Rows, Row{SelfID: id, Role: p.Role, PeerID: p.AgentID, Cycles: p.Cycles,
				LastCycle: timeOf(p.LastCycleTime), LastCycleVerified: p.Secure && p.VerifiedCycles > 0, Secure: p.Secure})
		}
	}
	return d
}

func timeOf(t *metav1.Time) (out time.Time) {
	if t != nil {
		out = t.Time
	}
	return out
}

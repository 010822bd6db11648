package controllers

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/store"
)

func TestFleetMeshCountsPairsFromTheCache(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *time.Time { x := now.Add(-ago); return &x }
	m := func(ns, name, id string) MeshMember {
		return MeshMember{Namespace: ns, Name: name, AgentID: id, StaleAfter: time.Minute}
	}
	members := []MeshMember{m("a", "a1", "1"), m("a", "a2", "2"), m("a", "a3", "3"), m("a", "a4", "4"), m("b", "b1", "5"), m("b", "b2", "6")}
	rows := []store.FleetRow{
		// a1 -> a2 fresh, from the initiator's row (a2's responder row agrees).
		{SelfID: "1", PeerID: "2", Initiator: true, Cycles: 5, LastCycleAt: at(time.Second)},
		{SelfID: "2", PeerID: "1", Initiator: false, Cycles: 5, LastCycleAt: at(time.Second)},
		// a1 -> a3 stale (2 h), a3 -> a1 staler (3 h): worst first.
		{SelfID: "1", PeerID: "3", Initiator: true, Cycles: 1, LastCycleAt: at(2 * time.Hour)},
		{SelfID: "3", PeerID: "1", Initiator: true, Cycles: 1, LastCycleAt: at(3 * time.Hour)},
		// a3 -> a4 started, never completed.
		{SelfID: "3", PeerID: "4", Initiator: true},
		// a4 has no rows loaded: a4 -> a2 is known from a2's responder row only.
		{SelfID: "2", PeerID: "4", Initiator: false, Cycles: 2, LastCycleAt: at(time.Second)},
		// Across namespaces and with strangers: not part of any fleet's mesh.
		{SelfID: "1", PeerID: "5", Initiator: true, Cycles: 9, LastCycleAt: at(time.Second)},
		{SelfID: "1", PeerID: "stranger", Initiator: true, Cycles: 9, LastCycleAt: at(time.Second)},
		{SelfID: "5", PeerID: "6", Initiator: true, Cycles: 1, LastCycleAt: at(time.Second)},
	}
	fm := FleetMeshFromRows(members, rows)
	got := fm.Namespaces(now, 1)
	if len(got) != 2 || got[0].Namespace != "a" || got[1].Namespace != "b" {
		t.Fatalf("namespaces = %+v", got)
	}
	a := got[0]
	if a.Agents != 4 || a.OK != 2 || a.Stale != 2 || a.Never != 12-4 {
		t.Errorf("namespace a: agents %d ok %d stale %d never %d; want 4 2 2 8", a.Agents, a.OK, a.Stale, a.Never)
	}
	if len(a.Worst) != 1 || a.Worst[0].Initiator != "a3" || a.Worst[0].Responder != "a1" || !a.Worst[0].Stale {
		t.Errorf("worst (limit 1) = %+v; want a3 -> a1", a.Worst)
	}
	if b := got[1]; b.Agents != 2 || b.OK != 1 || b.Stale != 0 || b.Never != 1 || len(b.Worst) != 0 {
		t.Errorf("namespace b = %+v", b)
	}

	pairs := fm.Pairs(now, "a", []string{"a1", "a2"})
	if len(pairs) != 1 || pairs[0].Initiator != "a1" || pairs[0].Responder != "a2" || pairs[0].Cycles != 5 ||
		!pairs[0].LastCycle.Equal(*at(time.Second)) || pairs[0].Stale {
		t.Errorf("pairs among a1, a2 = %+v; want a1 -> a2", pairs)
	}
	var none *FleetMesh
	if none.Namespaces(now, 5) != nil || none.Pairs(now, "a", nil) != nil {
		t.Error("a nil FleetMesh is not empty")
	}
}

// BenchmarkFleetMeshNamespaces: one scrape's walk over the cache of a
// 1,000-agent full mesh (a million peer entries, both roles each).
func BenchmarkFleetMeshNamespaces(b *testing.B) {
	const agents = 1000
	now := time.Now()
	h := &statusHub{agents: map[types.NamespacedName]*trackedAgent{}, caches: map[[32]byte]*fleetCache{}}
	c := newFleetCache()
	ids := make([]string, agents)
	for i := range agents {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		c.peers[ids[i]] = uint32(i)
		key := types.NamespacedName{Namespace: "fleet", Name: fmt.Sprintf("agent-%04d", i)}
		h.agents[key] = &trackedAgent{key: key, agentID: ids[i], staleAfter: time.Minute}
	}
	for i := range agents {
		rows := make([]fleetPeer, 0, agents-1)
		for j := range agents {
			if j == i {
				continue
			}
			last := now.Add(-time.Duration((i*agents+j)%120) * time.Second).UnixMicro()
			rows = append(rows, fleetPeer{pid: uint32(j), cycles: [2]int64{3, 3}, last: [2]int64{last, last},
				flags: flagHas | flagHas<<1, verified: [2]uint32{3, 3}})
		}
		c.agents[ids[i]] = rows
	}
	h.caches[[32]byte{}] = c
	fm := &FleetMesh{hub: h}
	b.ResetTimer()
	for range b.N {
		ns := fm.Namespaces(now, 50)
		if ns[0].OK+ns[0].Stale != agents*(agents-1) || len(ns[0].Worst) != 50 {
			b.Fatalf("%+v", ns[0].Agents)
		}
	}
}

package controllers

import (
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// TestFleetMeshCarriesLastCycleVerified: the operator's cache (the source
// of its mesh page) reports a pair's last cycle as verified only from a
// row whose last cycle was verified, and a later unverified cycle (a
// delta update of the same row) clears it; the other role keeps its own.
func TestFleetMeshCarriesLastCycleVerified(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *time.Time { x := now.Add(-ago); return &x }
	members := []MeshMember{{Namespace: "a", Name: "a1", AgentID: "1", StaleAfter: time.Minute},
		{Namespace: "a", Name: "a2", AgentID: "2", StaleAfter: time.Minute},
		{Namespace: "a", Name: "a3", AgentID: "3", StaleAfter: time.Minute}}
	fm := FleetMeshFromRows(members, []store.FleetRow{
		{SelfID: "1", PeerID: "2", Initiator: true, Cycles: 3, VerifiedCycles: 3, LastCycleAt: at(time.Second), LastCycleVerified: true},
		{SelfID: "1", PeerID: "2", Initiator: false, Cycles: 3, VerifiedCycles: 3, LastCycleAt: at(time.Second), LastCycleVerified: true},
		{SelfID: "1", PeerID: "3", Initiator: true, Cycles: 3, LastCycleAt: at(time.Second)}, // a Python peer
	})
	got := map[string]bool{}
	for _, p := range fm.Pairs(now, "a", []string{"a1", "a2", "a3"}) {
		got[p.Initiator+">"+p.Responder] = p.LastCycleVerified
	}
	if want := map[string]bool{"a1>a2": true, "a2>a1": true, "a1>a3": false}; len(got) != 3 ||
		got["a1>a2"] != want["a1>a2"] || got["a2>a1"] != want["a2>a1"] || got["a1>a3"] != want["a1>a3"] {
		t.Fatalf("pairs' last cycle verified = %v; want %v", got, want)
	}

	// A delta poll's row for the initiator side: an unverified cycle.
	c := fm.hub.caches[[32]byte{}]
	c.agents["1"] = upsert(c.agents["1"], c.entry(store.FleetRow{SelfID: "1", PeerID: "2", Initiator: true, Cycles: 4,
		VerifiedCycles: 3, LastCycleAt: at(0)}))
	for _, p := range fm.Pairs(now, "a", []string{"a1", "a2"}) {
		if want := p.Initiator == "a2"; p.LastCycleVerified != want {
			t.Errorf("after an unverified cycle: %s -> %s last cycle verified %v, want %v", p.Initiator, p.Responder, p.LastCycleVerified, want)
		}
	}
}

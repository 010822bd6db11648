package store

import (
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// TestFleetRowsLastCycleVerified: FleetRows says whether each row's last
// cycle was a verified one, on the full and the delta path: a verified
// pair yes; a Python (never verified) pair and a pair whose verified cycle
// was followed by an unverified one no; a row with no cycle no.
func TestFleetRowsLastCycleVerified(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), newClock())
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	writeFleetConvs(t, s, []fleetConv{
		{k: Key{"me", Initiator, "bind"}, cycles: []fleetCycle{{t0.Add(-time.Minute), false}, {t0, true}}},
		{k: Key{"me", Initiator, "py"}, cycles: []fleetCycle{{t0, false}}},
		{k: Key{"me", Initiator, "downgraded"}, cycles: []fleetCycle{{t0.Add(-time.Minute), true}, {t0, false}}},
	})
	if _, err := s.GetOrCreate(ctx, Key{"me", Initiator, "new"}, "ready"); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"bind": true, "py": false, "downgraded": false, "new": false}
	q := []FleetQuery{{SelfID: "me", StaleBefore: t0.Add(-time.Hour)}}
	for name, query := range map[string]FleetRowsQuery{
		"full":  {Full: q},
		"delta": {Delta: q, CycledSince: t0.Add(-time.Hour)},
	} {
		got := map[string]bool{}
		if _, err := s.FleetRows(ctx, query, func(r FleetRow) { got[r.PeerID] = r.LastCycleVerified }); err != nil {
			t.Fatal(err)
		}
		for peer, w := range want {
			if g, ok := got[peer]; (ok || name == "full") && g != w {
				t.Errorf("%s: peer %s last cycle verified %v, want %v", name, peer, g, w)
			}
		}
	}
}

package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// The cache, reading only changed rows after its first poll, must report
// exactly what the full FleetSummary query reports.
func TestFleetCacheMatchesFullSummary(t *testing.T) {
	clk := newClock()
	s := openTestStore(t, pgtest.DSN(t), clk)
	bump := func(k Key, n int) {
		t.Helper()
		if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
			t.Fatal(err)
		}
		for range n {
			if _, err := s.BumpCycles(ctx, k, clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	bump(Key{"me", Initiator, "p1"}, 2)
	bump(Key{"me", Responder, "p1"}, 1)
	bump(Key{"me", Initiator, "p2"}, 3)
	bump(Key{"other", Initiator, "p1"}, 7)
	rs, err := s.GetOrCreate(ctx, Key{"me", Initiator, "p2"}, "ready")
	if err != nil {
		t.Fatal(err)
	}
	rs.HSDerivedAt = ptr(clk.Now())
	if _, err := s.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}

	c := NewFleetCache()
	c.ResyncSlices = 1000 // no resync by chance: this test checks the delta path
	check := func(step string) {
		t.Helper()
		asked := []FleetQuery{
			{SelfID: "me", StaleBefore: clk.Now().Add(-time.Minute)},
			{SelfID: "other", StaleBefore: clk.Now().Add(-time.Minute)},
			{SelfID: "nobody", StaleBefore: clk.Now().Add(-time.Minute)},
		}
		got, err := c.Poll(ctx, s, asked, 3, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.FleetSummary(ctx, asked, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: cache %+v\nfull query %+v", step, got, want)
		}
	}
	check("first poll (full)")
	clk.Advance(15 * time.Second)
	check("nothing changed")

	clk.Advance(15 * time.Second)
	bump(Key{"me", Initiator, "p1"}, 1)    // a cycle moves last_cycle_at
	bump(Key{"me", Responder, "p9"}, 0)    // a new peer that never cycled: found by id
	bump(Key{"other", Responder, "p2"}, 4) // both at once
	check("after cycles and inserts")

	// Two minutes on, p2 and p1 of other go stale without a row changing.
	clk.Advance(2 * time.Minute)
	check("staleness from the clock alone")
	clk.Advance(15 * time.Second)
	bump(Key{"me", Responder, "p2"}, 2)
	check("a later cycle")
}

// A deleted row is not a change the delta can see; the rotating full
// resync removes it within ResyncSlices polls.
func TestFleetCacheResyncDropsDeletedRows(t *testing.T) {
	clk := newClock()
	s := openTestStore(t, pgtest.DSN(t), clk)
	for _, k := range []Key{{"me", Initiator, "p1"}, {"me", Initiator, "p2"}} {
		if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
			t.Fatal(err)
		}
	}
	c := NewFleetCache()
	c.ResyncSlices = 3
	asked := []FleetQuery{{SelfID: "me", StaleBefore: clk.Now()}}
	poll := func() FleetAgentSummary {
		t.Helper()
		got, err := c.Poll(ctx, s, asked, 0, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return got["me"]
	}
	if n := poll().PeerCount; n != 2 {
		t.Fatalf("peerCount %d, want 2", n)
	}
	if err := s.DeleteAgentState(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		clk.Advance(15 * time.Second)
		if poll().PeerCount == 1 {
			return
		}
		t.Logf("poll %d after the delete still shows p2", i+1)
	}
	t.Fatal("the deleted peer is still counted after ResyncSlices polls")
}

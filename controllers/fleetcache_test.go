package controllers

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// The compact cache, reading only changed rows after its first poll, must
// report exactly what the full FleetSummary query reports (real
// PostgreSQL).
func TestFleetCacheMatchesFullSummary(t *testing.T) {
	st := openTestStore(t, testDSN(t))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	bump := func(self string, role store.Role, peer string, n int) {
		t.Helper()
		writeConversation(t, st, self, role, peer, n, now, false)
	}
	bump("me", store.Initiator, "p1", 2)
	bump("me", store.Responder, "p1", 1)
	bump("me", store.Initiator, "p2", 3)
	bump("other", store.Initiator, "p1", 7)
	writeConversation(t, st, "me", store.Initiator, "p3", 1, now, true) // verified

	c := newFleetCache()
	c.resyncSlices = 1000 // no resync by chance: this test checks the delta path
	check := func(step string) {
		t.Helper()
		asked := []store.FleetQuery{
			{SelfID: "me", StaleBefore: now.Add(-time.Minute)},
			{SelfID: "other", StaleBefore: now.Add(-time.Minute)},
			{SelfID: "nobody", StaleBefore: now.Add(-time.Minute)},
		}
		got, err := c.Poll(ctx, st, asked, 3, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.FleetSummary(ctx, asked, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: cache %+v\nfull query %+v", step, got, want)
		}
	}
	check("first poll (full)")
	now = now.Add(15 * time.Second)
	check("nothing changed")

	now = now.Add(15 * time.Second)
	bump("me", store.Initiator, "p1", 1)    // a cycle moves last_cycle_at
	bump("me", store.Responder, "p9", 0)    // a new peer that never cycled: found by id
	bump("other", store.Responder, "p2", 4) // both at once
	bump("me", store.Responder, "p0", 1)    // a new peer sorted before the others
	check("after cycles and inserts")

	// Two minutes on, peers go stale without a row changing.
	now = now.Add(2 * time.Minute)
	check("staleness from the clock alone")
	now = now.Add(15 * time.Second)
	bump("me", store.Responder, "p2", 2)
	check("a later cycle")
}

// A deleted row is not a change the delta can see; the rotating full
// resync removes it within resyncSlices polls.
func TestFleetCacheResyncDropsDeletedRows(t *testing.T) {
	st := openTestStore(t, testDSN(t))
	ctx := context.Background()
	now := time.Now().UTC()
	writeConversation(t, st, "me", store.Initiator, "p1", 0, now, false)
	writeConversation(t, st, "me", store.Initiator, "p2", 0, now, false)
	c := newFleetCache()
	c.resyncSlices = 3
	asked := []store.FleetQuery{{SelfID: "me", StaleBefore: now}}
	poll := func() store.FleetAgentSummary {
		t.Helper()
		got, err := c.Poll(ctx, st, asked, 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got["me"]
	}
	if n := poll().PeerCount; n != 2 {
		t.Fatalf("peerCount %d, want 2", n)
	}
	if err := st.DeleteAgentState(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		now = now.Add(15 * time.Second)
		if poll().PeerCount == 1 {
			return
		}
		t.Logf("poll %d after the delete still shows p2", i+1)
	}
	t.Fatal("the deleted peer is still counted after resyncSlices polls")
}

// Entries stay sorted and one per peer whatever order rows arrive in.
func TestFleetCacheMergeAndUpsertKeepOneSortedEntryPerPeer(t *testing.T) {
	c := newFleetCache()
	row := func(peer string, initiator bool, cycles int64) fleetPeer {
		return c.entry(store.FleetRow{PeerID: peer, Initiator: initiator, Cycles: cycles})
	}
	rows := merge([]fleetPeer{row("b", true, 1), row("a", false, 2), row("b", false, 3), row("a", true, 4)})
	if len(rows) != 2 || rows[0].cycles != [2]int64{4, 2} && rows[1].cycles != [2]int64{4, 2} {
		t.Fatalf("merged %+v", rows)
	}
	rows = upsert(rows, row("c", true, 5))
	rows = upsert(rows, row("a", true, 9))
	for i := 1; i < len(rows); i++ {
		if rows[i-1].pid >= rows[i].pid {
			t.Fatalf("not sorted by peer: %+v", rows)
		}
	}
	sum := summarize(store.FleetQuery{SelfID: "me"}, rows, nil)
	if sum.PeerCount != 3 || sum.Cycles != 9+2+1+3+5 {
		t.Fatalf("summary %+v of %+v", sum, rows)
	}
}

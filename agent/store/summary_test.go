package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSummaryListsMostRecentFirstWithExactTotals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
		if err := s.UpsertAgent(ctx, Agent{SelfID: "p1", Name: "bob"}); err != nil {
			t.Fatal(err)
		}
		type conv struct {
			k      Key
			state  string
			cycles int
			secure bool
		}
		convs := []conv{
			{Key{"me", Initiator, "p1"}, "init_ready", 2, true},
			{Key{"me", Responder, "p1"}, "resp_ready", 1, false},
			{Key{"me", Initiator, "p2"}, "init_exchange", 3, false},
			{Key{"me", Responder, "p3"}, "resp_confirm", 0, false},
			{Key{"other", Initiator, "p1"}, "init_ready", 7, false}, // another agent: not counted
		}
		for i, c := range convs {
			clk.Advance(time.Second)
			rs, err := s.GetOrCreate(ctx, c.k, c.state)
			if err != nil {
				t.Fatal(err)
			}
			if c.secure {
				rs.HSDerivedAt = ptr(t0)
				if _, err := s.Update(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
			for n := 0; n < c.cycles; n++ {
				// Cycle times: conv i's last cycle is at t0 + i minutes.
				if _, err := s.BumpCycles(ctx, c.k, t0.Add(time.Duration(i)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
		}
		sum, err := s.Summary(ctx, "me", 10)
		if err != nil {
			t.Fatal(err)
		}
		if sum.SelfID != "me" || sum.PeerCount != 3 || sum.Cycles != 6 || sum.LastCycleAt == nil || !sum.LastCycleAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("totals = %+v; want 3 peers, 6 cycles, last %v", sum, t0.Add(2*time.Minute))
		}
		want := []PeerSummary{
			{PeerID: "p2", Role: "initiator", State: "init_exchange", Cycles: 3, LastCycleAt: ptr(t0.Add(2 * time.Minute))},
			{PeerID: "p1", Name: "bob", Role: "responder", State: "resp_ready", Cycles: 1, LastCycleAt: ptr(t0.Add(time.Minute))},
			{PeerID: "p1", Name: "bob", Role: "initiator", State: "init_ready", Cycles: 2, LastCycleAt: ptr(t0), Secure: true},
			{PeerID: "p3", Role: "responder", State: "resp_confirm"}, // never cycled: last
		}
		if err := equalPeers(sum.Peers, want); err != nil {
			t.Fatal(err)
		}
		capped, err := s.Summary(ctx, "me", 2)
		if err != nil {
			t.Fatal(err)
		}
		if capped.PeerCount != 3 || capped.Cycles != 6 {
			t.Fatalf("capping the list changed the totals: %+v", capped)
		}
		if err := equalPeers(capped.Peers, want[:2]); err != nil {
			t.Fatalf("limit 2: %v", err)
		}
		none, err := s.Summary(ctx, "me", 0)
		if err != nil || len(none.Peers) != 0 || none.PeerCount != 3 {
			t.Fatalf("limit 0 = %+v, %v; want totals only", none, err)
		}
	})
}

func TestSummaryOfUnknownAgentIsEmpty(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		sum, err := s.Summary(ctx, "nobody", 64)
		if err != nil {
			t.Fatal(err)
		}
		if sum.SelfID != "nobody" || sum.PeerCount != 0 || sum.Cycles != 0 || sum.LastCycleAt != nil || sum.Peers == nil || len(sum.Peers) != 0 {
			t.Fatalf("summary = %+v; want zero totals and an empty (non-nil) list", sum)
		}
		if _, err := s.Summary(ctx, "nobody", -1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative limit: %v, want ErrInvalid", err)
		}
	})
}

func equalPeers(got, want []PeerSummary) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d peers %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		sameTime := (g.LastCycleAt == nil) == (w.LastCycleAt == nil) && (g.LastCycleAt == nil || g.LastCycleAt.Equal(*w.LastCycleAt))
		g.LastCycleAt, w.LastCycleAt = nil, nil
		if g != w || !sameTime {
			return fmt.Errorf("peer %d = %+v (last %v), want %+v (last %v)", i, got[i], got[i].LastCycleAt, want[i], want[i].LastCycleAt)
		}
	}
	return nil
}

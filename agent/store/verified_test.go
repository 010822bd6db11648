package store

import (
	"testing"
	"time"
)

// TestStepsCountVerifiedCycles: a step's Verified adds to verified_cycles
// and moves last_verified_at with its cycle, on both dialects and both
// ApplySteps paths (a batch of distinct keys and one key twice); a
// BumpCycles or an unverified step counts only in cycles.
func TestStepsCountVerifiedCycles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		a, b := Key{"me", Responder, "p1"}, Key{"me", Initiator, "p1"}
		for _, k := range []Key{a, b} {
			if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
		t1 := t0.Add(time.Minute)
		for _, batch := range [][]Step{
			{{Key: a, CycleAt: &t0, Verified: true}, {Key: b, CycleAt: &t0}},
			{{Key: a, CycleAt: &t1}, {Key: a, CycleAt: &t1, Verified: true}},
		} {
			res, err := s.ApplySteps(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("step %d: %v", i, r.Err)
				}
			}
		}
		if _, err := s.BumpCycles(ctx, b, t1); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			k                Key
			cycles, verified int64
			lastVerified     *time.Time
		}{{a, 3, 2, &t1}, {b, 2, 0, nil}} {
			var cycles, verified int64
			var last dbTime
			err := s.w.QueryRowxContext(ctx, s.w.Rebind(`SELECT cycles, verified_cycles, last_verified_at FROM role_state
				WHERE self_id = ? AND role = ? AND peer_id = ?`), c.k.SelfID, string(c.k.Role), c.k.PeerID).Scan(&cycles, &verified, &last)
			if err != nil {
				t.Fatal(err)
			}
			got := last.ptr()
			if cycles != c.cycles || verified != c.verified || (got == nil) != (c.lastVerified == nil) ||
				(got != nil && !got.Equal(*c.lastVerified)) {
				t.Fatalf("%s: cycles %d, verified %d, last verified %v; want %d, %d, %v",
					c.k.label(), cycles, verified, got, c.cycles, c.verified, c.lastVerified)
			}
		}
		if s.dialect != DialectPostgres {
			return
		}
		// The operator's reads: FleetSummary and FleetRows.
		sum, err := s.FleetSummary(ctx, []FleetQuery{{SelfID: "me", StaleBefore: t0}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m := sum["me"]; m.Cycles != 5 || m.VerifiedCycles != 2 {
			t.Fatalf("FleetSummary: %d cycles, %d verified; want 5, 2", m.Cycles, m.VerifiedCycles)
		}
		rows := map[Role]int64{}
		if _, err := s.FleetRows(ctx, FleetRowsQuery{Full: []FleetQuery{{SelfID: "me", StaleBefore: t0}}},
			func(r FleetRow) {
				role := Responder
				if r.Initiator {
					role = Initiator
				}
				rows[role] = r.VerifiedCycles
			}); err != nil {
			t.Fatal(err)
		}
		if rows[Responder] != 2 || rows[Initiator] != 0 {
			t.Fatalf("FleetRows verified cycles %v; want responder 2, initiator 0", rows)
		}
	})
}

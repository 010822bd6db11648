package store

import (
	"errors"
	"testing"
	"time"
)

func TestMeshViewReadsEveryConversationAndAgent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		for _, a := range []Agent{{SelfID: "a1", Name: "alice", Namespace: "ns"}, {SelfID: "b1", Name: "bob"}} {
			if err := s.UpsertAgent(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		ab := Key{"a1", Initiator, "b1"}
		ba := Key{"b1", Responder, "a1"}
		for _, k := range []Key{ab, ba} {
			rs, err := s.GetOrCreate(ctx, k, "ready")
			if err != nil {
				t.Fatal(err)
			}
			if k == ba {
				rs.HSDerivedAt, rs.LastSecureAt = ptr(t0), ptr(t0.Add(time.Second))
				if _, err := s.Update(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := 0; i < 3; i++ {
			if _, err := s.BumpCycles(ctx, ba, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		v, err := s.MeshView(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if v.Truncated || len(v.Agents) != 2 || v.Agents[0].Name != "alice" || v.Agents[0].Namespace != "ns" || v.Agents[1].Name != "bob" {
			t.Fatalf("agents = %+v (truncated %v)", v.Agents, v.Truncated)
		}
		if len(v.Rows) != 2 {
			t.Fatalf("rows = %+v; want 2", v.Rows)
		}
		ini, resp := v.Rows[0], v.Rows[1]
		if ini.SelfID != "a1" || ini.Role != "initiator" || ini.PeerID != "b1" || ini.Cycles != 0 || ini.LastCycleAt != nil || ini.HSDerivedAt != nil {
			t.Errorf("initiator row = %+v", ini)
		}
		if resp.SelfID != "b1" || resp.Role != "responder" || resp.Cycles != 3 || resp.LastCycleAt == nil ||
			!resp.LastCycleAt.Equal(t0.Add(2*time.Minute)) || resp.HSDerivedAt == nil || !resp.LastSecureAt.Equal(t0.Add(time.Second)) {
			t.Errorf("responder row = %+v", resp)
		}
		// A limit below the row count truncates and says so.
		v, err = s.MeshView(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Truncated || len(v.Rows) != 1 || len(v.Agents) != 1 {
			t.Errorf("limit 1: %d rows, %d agents, truncated %v", len(v.Rows), len(v.Agents), v.Truncated)
		}
		if _, err := s.MeshView(ctx, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("limit 0: err = %v, want ErrInvalid", err)
		}
	})
}

// TestMeshViewReportsVerifiedCycles: the mesh view carries verified_cycles
// and last_verified_at, and a row's last cycle counts as verified only
// when it was the verified one (an unverified cycle after it clears it).
func TestMeshViewReportsVerifiedCycles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		verified, open := Key{"a1", Initiator, "b1"}, Key{"a1", Initiator, "py"}
		for _, k := range []Key{verified, open} {
			if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		t1 := t0.Add(time.Minute)
		for _, st := range []Step{{Key: verified, CycleAt: &t0, Verified: true}, {Key: open, CycleAt: &t0},
			{Key: verified, CycleAt: &t1, Verified: true}, {Key: open, CycleAt: &t1}} {
			if r, err := s.ApplySteps(ctx, []Step{st}); err != nil || r[0].Err != nil {
				t.Fatalf("step %+v: %v %v", st, err, r)
			}
		}
		rows := meshRowsByPeer(t, s)
		if r := rows["b1"]; r.Cycles != 2 || r.VerifiedCycles != 2 || r.LastVerifiedAt == nil || !r.LastVerifiedAt.Equal(t1) || !r.LastCycleVerified() {
			t.Errorf("verified pair: %+v (last cycle verified %v)", r, r.LastCycleVerified())
		}
		if r := rows["py"]; r.Cycles != 2 || r.VerifiedCycles != 0 || r.LastVerifiedAt != nil || r.LastCycleVerified() {
			t.Errorf("unverified pair: %+v (last cycle verified %v)", r, r.LastCycleVerified())
		}
		// A later unverified cycle (a downgrade) leaves last_verified_at
		// behind: the last cycle is no longer a verified one.
		t2 := t1.Add(time.Minute)
		if r, err := s.ApplySteps(ctx, []Step{{Key: verified, CycleAt: &t2}}); err != nil || r[0].Err != nil {
			t.Fatal(err, r)
		}
		if r := meshRowsByPeer(t, s)["b1"]; r.Cycles != 3 || r.VerifiedCycles != 2 || r.LastCycleVerified() {
			t.Errorf("after an unverified cycle: %+v (last cycle verified %v)", r, r.LastCycleVerified())
		}
	})
}

func meshRowsByPeer(t *testing.T, s *Store) map[string]MeshRow {
	t.Helper()
	v, err := s.MeshView(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]MeshRow{}
	for _, r := range v.Rows {
		out[r.PeerID] = r
	}
	return out
}

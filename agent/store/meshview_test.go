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

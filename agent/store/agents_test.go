package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUpsertAgentInsertsThenReplaces(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		start := time.Date(2026, 11, 26, 8, 0, 0, 5000, time.UTC)
		a := Agent{SelfID: "id-a", Name: "alice", Namespace: "fleet", SignPub: "s1", KxPub: "k1",
			SoftwareVersion: "v0.1.0", StartedAt: start, LastSeenAt: start}
		if err := s.UpsertAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAgent(ctx, "id-a")
		if err != nil || got != a {
			t.Fatalf("GetAgent = %+v, %v; want %+v", got, err, a)
		}
		restarted := Agent{SelfID: "id-a", Name: "alice", Namespace: "fleet", SignPub: "s2", KxPub: "k2", SoftwareVersion: "v0.2.0"}
		if err := s.UpsertAgent(ctx, restarted); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetAgent(ctx, "id-a")
		want := restarted
		want.StartedAt, want.LastSeenAt = normTime(clk.Now()), normTime(clk.Now())
		if got != want {
			t.Fatalf("after re-upsert GetAgent = %+v; want %+v (zero times default to now)", got, want)
		}
		if _, err := s.GetAgent(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetAgent(unknown): %v, want ErrNotFound", err)
		}
		for name, bad := range map[string]Agent{
			"empty id":      {Name: "x"},
			"oversized key": {SelfID: "x", SignPub: strings.Repeat("k", 2000)},
			"NUL in name":   {SelfID: "x", Name: "a\x00"},
		} {
			if err := s.UpsertAgent(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("UpsertAgent with %s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestTouchAgentOnlyMovesLastSeenForward(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		t0 := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
		if err := s.UpsertAgent(ctx, Agent{SelfID: "id-a", Name: "alice", StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for _, st := range []struct {
			at, want time.Time
		}{
			{t0.Add(time.Minute), t0.Add(time.Minute)},
			{t0.Add(30 * time.Second), t0.Add(time.Minute)},
			{t0.Add(2 * time.Minute), t0.Add(2 * time.Minute)},
		} {
			if err := s.TouchAgent(ctx, "id-a", st.at); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetAgent(ctx, "id-a")
			if !got.LastSeenAt.Equal(st.want) || !got.StartedAt.Equal(t0) {
				t.Fatalf("after touch at %v: last_seen %v started %v; want %v, %v", st.at, got.LastSeenAt, got.StartedAt, st.want, t0)
			}
		}
		if err := s.TouchAgent(ctx, "nobody", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TouchAgent(unknown): %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteAgentStateRemovesBothDirectionsAndKeepsOthers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		for _, id := range []string{"gone", "b", "c"} {
			if err := s.UpsertAgent(ctx, Agent{SelfID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		removed := []Key{
			{SelfID: "gone", Role: Initiator, PeerID: "b"},
			{SelfID: "gone", Role: Responder, PeerID: "c"},
			{SelfID: "b", Role: Responder, PeerID: "gone"},
		}
		kept := []Key{
			{SelfID: "b", Role: Initiator, PeerID: "c"},
			{SelfID: "c", Role: Responder, PeerID: "b"},
		}
		for _, k := range append(append([]Key{}, removed...), kept...) {
			if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordNonceOnce(ctx, k, FlowReceived, "n"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAgentState(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		for _, k := range removed {
			if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Errorf("row %s survived: %v", k.label(), err)
			}
			if ok, _ := s.NonceExists(ctx, k, FlowReceived, "n"); ok {
				t.Errorf("nonce of %s survived", k.label())
			}
		}
		for _, k := range kept {
			if _, err := s.Get(ctx, k); err != nil {
				t.Errorf("unrelated row %s deleted: %v", k.label(), err)
			}
			if ok, _ := s.NonceExists(ctx, k, FlowReceived, "n"); !ok {
				t.Errorf("unrelated nonce of %s deleted", k.label())
			}
		}
		if _, err := s.GetAgent(ctx, "gone"); !errors.Is(err, ErrNotFound) {
			t.Errorf("agents row survived: %v", err)
		}
		if _, err := s.GetAgent(ctx, "b"); err != nil {
			t.Errorf("unrelated agent deleted: %v", err)
		}
		if err := s.DeleteAgentState(ctx, "gone"); err != nil {
			t.Errorf("deleting an absent agent is not an error: %v", err)
		}
	})
}

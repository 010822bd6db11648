package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestFleetSummaryAggregatesEveryAgentInOneStatement(t *testing.T) {
	clk := newClock()
	s := openTestStore(t, pgtest.DSN(t), clk)
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	if err := s.UpsertAgent(ctx, Agent{SelfID: "p1", Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	type conv struct {
		k         Key
		cycles    int
		lastCycle time.Time
		verified  bool
		secureAt  *time.Time
	}
	for _, c := range []conv{
		{Key{"me", Responder, "p1"}, 1, t0.Add(time.Minute), true, ptr(t0.Add(time.Minute))},
		{Key{"me", Initiator, "p1"}, 2, t0, true, ptr(t0.Add(-time.Hour))}, // verified, but no envelope lately
		{Key{"me", Initiator, "p2"}, 3, t0.Add(-10 * time.Minute), false, nil},
		{Key{"me", Responder, "p3"}, 0, time.Time{}, false, nil}, // never cycled
		{Key{"other", Initiator, "p1"}, 7, t0, false, nil},
	} {
		rs, err := s.GetOrCreate(ctx, c.k, "ready")
		if err != nil {
			t.Fatal(err)
		}
		if c.verified || c.secureAt != nil {
			if c.verified {
				rs.HSDerivedAt = ptr(t0)
			}
			rs.LastSecureAt = c.secureAt
			if _, err := s.Update(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		for n := 0; n < c.cycles; n++ {
			// A verified conversation's cycles were authenticated end to
			// end; they count through the group commit as the engine does.
			at := c.lastCycle
			r, err := s.ApplySteps(ctx, []Step{{Key: c.k, CycleAt: &at, Verified: c.verified}})
			if err != nil || r[0].Err != nil {
				t.Fatal(err, r)
			}
		}
	}
	staleBefore := t0.Add(-time.Minute)
	got, err := s.FleetSummary(ctx, []FleetQuery{
		{SelfID: "me", StaleBefore: staleBefore},
		{SelfID: "other", StaleBefore: staleBefore},
		{SelfID: "nobody", StaleBefore: staleBefore},
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	me := got["me"]
	// p2 cycled 10 minutes ago and p3 never: two stale peers of three.
	if me.PeerCount != 3 || me.Cycles != 6 || me.VerifiedCycles != 3 || me.StalePeers != 2 ||
		me.LastCycleAt == nil || !me.LastCycleAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("me = %+v; want 3 peers, 6 cycles (3 verified), 2 stale, last %v", me, t0.Add(time.Minute))
	}
	want := []PeerSummary{
		{PeerID: "p1", Name: "bob", Role: "initiator", State: "ready", Cycles: 2, VerifiedCycles: 2, LastCycleAt: ptr(t0)},
		{PeerID: "p1", Name: "bob", Role: "responder", State: "ready", Cycles: 1, VerifiedCycles: 1, LastCycleAt: ptr(t0.Add(time.Minute)), Secure: true},
		{PeerID: "p2", Role: "initiator", State: "ready", Cycles: 3, LastCycleAt: ptr(t0.Add(-10 * time.Minute))},
	}
	if !reflect.DeepEqual(me.Sample, want) {
		t.Fatalf("sample = %+v\nwant %+v", me.Sample, want)
	}
	if o := got["other"]; o.PeerCount != 1 || o.Cycles != 7 || o.VerifiedCycles != 0 || o.StalePeers != 0 {
		t.Fatalf("other = %+v", o)
	}
	if n, ok := got["nobody"]; !ok || n.PeerCount != 0 || n.Cycles != 0 || n.LastCycleAt != nil || len(n.Sample) != 0 {
		t.Fatalf("nobody = %+v (present %v); want zero counts", n, ok)
	}

	// The sample order is by peer, not by activity: a new cycle on p2
	// changes its counters, never its place.
	if _, err := s.BumpCycles(ctx, Key{"me", Initiator, "p2"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again, err := s.FleetSummary(ctx, []FleetQuery{{SelfID: "me", StaleBefore: staleBefore}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range again["me"].Sample {
		if p.PeerID != want[i].PeerID || p.Role != want[i].Role {
			t.Fatalf("sample reordered after activity: %+v", again["me"].Sample)
		}
	}
}

func TestFleetSummaryRejectsBadInputBeforeTheDatabase(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), nil)
	for name, call := range map[string]func() error{
		"empty self_id": func() error { _, err := s.FleetSummary(ctx, []FleetQuery{{SelfID: ""}}, 1); return err },
		"sample too big": func() error {
			_, err := s.FleetSummary(ctx, []FleetQuery{{SelfID: "a"}}, MaxFleetSampleRows+1)
			return err
		},
		"too many agents": func() error {
			_, err := s.FleetSummary(ctx, make([]FleetQuery, MaxFleetSummaryAgents+1), 1)
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	sqlite := openTestStore(t, "sqlite:"+t.TempDir()+"/x.db", nil)
	if _, err := sqlite.FleetSummary(ctx, nil, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("SQLite: err = %v, want ErrInvalid", err)
	}
}

func TestDecodeFleetSampleRejectsMalformedRows(t *testing.T) {
	for _, raw := range []string{
		`{}`, `[["p"]]`, `[["p","n","r","s","many",null,false]]`, `[["p","n","r","s",1,"yesterday",false]]`,
		`[["p","n","r","s",1,null,false]]`,                                    // no verified_cycles column
		`[["p","n","r","s",1,null,false,"none"]]`,                             // verified_cycles not a number
		`[["p","n","r","s",1,null,false,0],["p","n","r","s",1,null,false,0]]`, // over the limit of 1
	} {
		if _, err := decodeFleetSample([]byte(raw), 1); err == nil {
			t.Errorf("decodeFleetSample(%s) accepted", raw)
		}
	}
}

// FuzzDecodeFleetSample: whatever the database sends, the decoder returns
// an error or at most limit rows, never panics.
func FuzzDecodeFleetSample(f *testing.F) {
	f.Add([]byte(`[["p","n","initiator","ready",1,"2026-11-26T10:00:00.123456+00:00",true,1]]`), 2)
	f.Add([]byte(`[]`), 0)
	f.Add([]byte(`[[null,null,null,null,null,null,null,null]]`), 1)
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		limit = max(0, min(limit, MaxFleetSampleRows))
		rows, err := decodeFleetSample(raw, limit)
		if err == nil && len(rows) > limit {
			t.Fatalf("%d rows over the limit %d", len(rows), limit)
		}
	})
}

package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// fleetConv is one conversation written the way agents write it: the hs
// fields by Update, each cycle through the group commit.
type fleetConv struct {
	k        Key
	hs       bool
	secureAt *time.Time
	cycles   []fleetCycle
}

type fleetCycle struct {
	at       time.Time
	verified bool
}

func writeFleetConvs(t *testing.T, s *Store, convs []fleetConv) {
	t.Helper()
	for _, c := range convs {
		rs, err := s.GetOrCreate(ctx, c.k, "ready")
		if err != nil {
			t.Fatal(err)
		}
		if c.hs {
			rs.HSDerivedAt, rs.LastSecureAt = ptr(c.cycles[0].at), c.secureAt
			if _, err := s.Update(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		for _, cy := range c.cycles {
			at := cy.at
			if r, err := s.ApplySteps(ctx, []Step{{Key: c.k, CycleAt: &at, Verified: cy.verified}}); err != nil || r[0].Err != nil {
				t.Fatal(err, r)
			}
		}
	}
}

// A sample row is secure while the session is up and, once the
// conversation has had a verified cycle, while it keeps having them: a
// binding pair whose cycles stopped verifying is not secure however fresh
// its envelopes; a never-verified (Python) pair keeps the session meaning.
// Each row carries its verified cycles. Both operator reads agree.
func TestFleetSampleSecureAndVerifiedCyclesPerConversation(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), newClock())
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	old := t0.Add(-10 * time.Minute)
	writeFleetConvs(t, s, []fleetConv{
		{k: Key{"me", Initiator, "pa"}, hs: true, secureAt: ptr(t0), cycles: []fleetCycle{{t0, true}, {t0, true}}},
		// verified 10 minutes ago, then unverified cycles (a downgrade)
		{k: Key{"me", Responder, "pa"}, hs: true, secureAt: ptr(t0), cycles: []fleetCycle{{old, true}, {t0, false}}},
		{k: Key{"me", Initiator, "pb"}, hs: true, secureAt: ptr(t0), cycles: []fleetCycle{{t0, false}, {t0, false}, {t0, false}}},
		{k: Key{"me", Initiator, "pc"}, cycles: []fleetCycle{{t0, false}}},
	})
	q := []FleetQuery{{SelfID: "me", StaleBefore: t0.Add(-time.Minute)}}
	want := []PeerSummary{
		{PeerID: "pa", Role: "initiator", State: "ready", Cycles: 2, VerifiedCycles: 2, LastCycleAt: ptr(t0), Secure: true},
		{PeerID: "pa", Role: "responder", State: "ready", Cycles: 2, VerifiedCycles: 1, LastCycleAt: ptr(t0), Secure: false},
		{PeerID: "pb", Role: "initiator", State: "ready", Cycles: 3, VerifiedCycles: 0, LastCycleAt: ptr(t0), Secure: true},
		{PeerID: "pc", Role: "initiator", State: "ready", Cycles: 1, VerifiedCycles: 0, LastCycleAt: ptr(t0), Secure: false},
	}
	sum, err := s.FleetSummary(ctx, q, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum["me"]; !reflect.DeepEqual(got.Sample, want) || got.Cycles != 8 || got.VerifiedCycles != 3 {
		t.Fatalf("FleetSummary %+v\nwant sample %+v, 8 cycles, 3 verified", got, want)
	}
	res, err := s.FleetRows(ctx, FleetRowsQuery{Full: q, SampleRows: 4}, func(FleetRow) {})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Samples["me"], want) {
		t.Fatalf("FleetRows sample %+v\nwant %+v", res.Samples["me"], want)
	}
}

// Excluded peers leave the sample, which still holds SampleRows visible
// conversations when they sort first, but not the rows: the operator's
// cache keeps counting them when they come back.
func TestFleetRowsExcludePeersFromTheSampleOnly(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), newClock())
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	var convs []fleetConv
	for _, p := range []string{"a0", "a1", "a2", "b0", "b1", "b2", "b3"} {
		for _, role := range []Role{Initiator, Responder} {
			convs = append(convs, fleetConv{k: Key{"me", role, p}, cycles: []fleetCycle{{t0, false}}})
		}
	}
	writeFleetConvs(t, s, convs)
	q := FleetRowsQuery{Full: []FleetQuery{{SelfID: "me", StaleBefore: t0}}, SampleRows: 4,
		ExcludePeers: []string{"a0", "a1", "a2", "never-a-peer"}}
	peers := map[string]int{}
	res, err := s.FleetRows(ctx, q, func(r FleetRow) { peers[r.PeerID]++ })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Samples["me"] {
		got = append(got, p.PeerID+"/"+p.Role)
	}
	if want := []string{"b0/initiator", "b0/responder", "b1/initiator", "b1/responder"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sample %v, want %v (the excluded a* sort first)", got, want)
	}
	if len(peers) != 7 || peers["a0"] != 2 {
		t.Fatalf("rows by peer %v: want all 7 peers' rows, excluded ones too", peers)
	}
	q.ExcludePeers = nil // no list: nothing excluded (not NULL, which would drop every row)
	if res, err = s.FleetRows(ctx, q, func(FleetRow) {}); err != nil || len(res.Samples["me"]) != 4 || res.Samples["me"][0].PeerID != "a0" {
		t.Fatalf("without exclusions: %+v, %v", res.Samples["me"], err)
	}
}

func TestFleetRowsRejectsBadExclusionsBeforeTheDatabase(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), nil)
	for name, ids := range map[string][]string{
		"empty ID":  {"ok", ""},
		"NUL":       {"a\x00b"},
		"too many":  make([]string, MaxFleetExcludePeers+1),
		"too long":  {string(make([]byte, maxIDLen+1))},
		"not UTF-8": {"\xff"},
	} {
		q := FleetRowsQuery{Full: []FleetQuery{{SelfID: "me"}}, SampleRows: 1, ExcludePeers: ids}
		if _, err := s.FleetRows(ctx, q, func(FleetRow) {}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

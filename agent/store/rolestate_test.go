package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGetOrCreateInsertsOnceAndKeepsExistingRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "a", Role: Responder, PeerID: "b"}
		first, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		want := RoleState{Key: k, State: "resp_ready", Version: 1, CreatedAt: normTime(clk.Now()), UpdatedAt: normTime(clk.Now())}
		if !equalRoleState(first, want) {
			t.Fatalf("created row\n got %+v\nwant %+v", first, want)
		}
		if first.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt in %v, want UTC", first.CreatedAt.Location())
		}
		first.State = "resp_confirm"
		if _, err := s.Update(ctx, first); err != nil {
			t.Fatal(err)
		}
		again, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		if again.State != "resp_confirm" || again.Version != 2 {
			t.Fatalf("GetOrCreate on an existing row returned state %q version %d, want resp_confirm 2", again.State, again.Version)
		}
		other, err := s.GetOrCreate(ctx, Key{SelfID: "a", Role: Initiator, PeerID: "b"}, "init_ready")
		if err != nil || other.State != "init_ready" {
			t.Fatalf("the other role is its own row: got %q, %v", other.State, err)
		}
	})
}

func TestUpdateWritesEveryMutableColumnAndBumpsVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		rs, err := s.GetOrCreate(ctx, k, "init_ready")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		hs := time.Date(2026, 11, 26, 9, 39, 9, 100534999, time.FixedZone("CET", 3600))
		next := rs
		next.State = "init_exchange"
		next.LocalNonce, next.PeerNonce = ptr("n-local"), ptr("n-peer")
		next.LocalReference, next.PeerReference = ptr("1234567891"), ptr("9876543211")
		next.ExchangeCount, next.FinalizeRetryCount = 3, 2
		next.PeerAddress, next.PeerSignPub, next.PeerKxPub = ptr("127.0.0.1:5555"), ptr("sign=="), ptr("kx==")
		next.HSDerivedAt, next.LastSecureAt = &hs, ptr(hs.Add(time.Minute))
		got, err := s.Update(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		want := next
		want.Version = rs.Version + 1
		want.UpdatedAt = normTime(clk.Now())
		want.HSDerivedAt, want.LastSecureAt = ptr(normTime(hs)), ptr(normTime(hs.Add(time.Minute)))
		if !equalRoleState(got, want) {
			t.Fatalf("Update returned\n got %+v\nwant %+v", got, want)
		}
		read, err := s.Get(ctx, k)
		if err != nil || !equalRoleState(read, want) {
			t.Fatalf("read back\n got %+v (%v)\nwant %+v", read, err, want)
		}
		// Clearing optional columns writes NULLs.
		cleared := read
		cleared.LocalNonce, cleared.HSDerivedAt, cleared.PeerAddress = nil, nil, nil
		got, err = s.Update(ctx, cleared)
		if err != nil || got.LocalNonce != nil || got.HSDerivedAt != nil || got.PeerAddress != nil {
			t.Fatalf("clearing columns: %+v, %v", got, err)
		}
	})
}

func TestUpdateFromStaleVersionConflicts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		rs, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		winner := rs
		winner.State = "resp_confirm"
		if _, err := s.Update(ctx, winner); err != nil {
			t.Fatal(err)
		}
		loser := rs
		loser.State = "resp_exchange"
		if _, err := s.Update(ctx, loser); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale update: err = %v, want ErrConflict", err)
		}
		now, _ := s.Get(ctx, k)
		if now.State != "resp_confirm" {
			t.Fatalf("a conflicting update changed the row to %q", now.State)
		}
	})
}

func TestUpdateOfMissingRowIsNotFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		_, err := s.Update(ctx, RoleState{Key: Key{SelfID: "x", Role: Initiator, PeerID: "y"}, State: "init_ready", Version: 1})
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, Key{SelfID: "x", Role: Initiator, PeerID: "y"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get: err = %v, want ErrNotFound", err)
		}
	})
}

func TestBumpCyclesCountsAndKeepsLatestCycleTime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		rs, err := s.GetOrCreate(ctx, k, "init_ready")
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
		steps := []struct {
			at        time.Time
			wantTotal int64
			wantLast  time.Time
		}{
			{t1, 1, t1},
			{t1.Add(time.Minute), 2, t1.Add(time.Minute)},
			{t1.Add(-time.Hour), 3, t1.Add(time.Minute)}, // a late bump does not move the time back
		}
		for _, st := range steps {
			total, err := s.BumpCycles(ctx, k, st.at)
			if err != nil || total != st.wantTotal {
				t.Fatalf("BumpCycles(%v) = %d, %v; want %d", st.at, total, err, st.wantTotal)
			}
			got, _ := s.Get(ctx, k)
			if got.LastCycleAt == nil || !got.LastCycleAt.Equal(st.wantLast) {
				t.Fatalf("last_cycle_at = %v, want %v", got.LastCycleAt, st.wantLast)
			}
		}
		// BumpCycles does not move Version, and Update does not undo cycles.
		rs.State = "init_exchange"
		got, err := s.Update(ctx, rs)
		if err != nil {
			t.Fatalf("update after bumps: %v", err)
		}
		if got.Cycles != 3 {
			t.Fatalf("cycles after Update = %d, want 3", got.Cycles)
		}
		if _, err := s.BumpCycles(ctx, Key{SelfID: "self", Role: Responder, PeerID: "peer"}, t1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bump of a missing row: %v, want ErrNotFound", err)
		}
	})
}

func TestRoleStateRejectsInvalidInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		good := Key{SelfID: "a", Role: Initiator, PeerID: "b"}
		rs, err := s.GetOrCreate(ctx, good, "init_ready")
		if err != nil {
			t.Fatal(err)
		}
		keys := []struct {
			name string
			k    Key
		}{
			{"empty self", Key{Role: Initiator, PeerID: "b"}},
			{"empty peer", Key{SelfID: "a", Role: Initiator}},
			{"unknown role", Key{SelfID: "a", Role: "observer", PeerID: "b"}},
			{"oversized peer", Key{SelfID: "a", Role: Initiator, PeerID: strings.Repeat("p", 256)}},
			{"NUL in peer", Key{SelfID: "a", Role: Initiator, PeerID: "b\x00"}},
			{"invalid UTF-8 peer", Key{SelfID: "a", Role: Initiator, PeerID: "\xff\xfe"}},
		}
		for _, tc := range keys {
			if _, err := s.GetOrCreate(ctx, tc.k, "init_ready"); !errors.Is(err, ErrInvalid) {
				t.Errorf("GetOrCreate with %s: err = %v, want ErrInvalid", tc.name, err)
			}
			if _, err := s.BumpCycles(ctx, tc.k, time.Now()); !errors.Is(err, ErrInvalid) {
				t.Errorf("BumpCycles with %s: err = %v, want ErrInvalid", tc.name, err)
			}
		}
		if _, err := s.GetOrCreate(ctx, good, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty default state: err = %v, want ErrInvalid", err)
		}
		updates := []struct {
			name   string
			mutate func(*RoleState)
		}{
			{"empty state", func(r *RoleState) { r.State = "" }},
			{"negative exchange count", func(r *RoleState) { r.ExchangeCount = -1 }},
			{"oversized nonce", func(r *RoleState) { r.PeerNonce = ptr(strings.Repeat("n", 256)) }},
			{"NUL in reference", func(r *RoleState) { r.PeerReference = ptr("12\x0034") }},
		}
		for _, tc := range updates {
			next := rs
			tc.mutate(&next)
			if _, err := s.Update(ctx, next); !errors.Is(err, ErrInvalid) {
				t.Errorf("Update with %s: err = %v, want ErrInvalid", tc.name, err)
			}
		}
		if got, _ := s.Get(ctx, good); got.Version != rs.Version {
			t.Fatalf("rejected updates moved the row to version %d", got.Version)
		}
	})
}

func TestOperationsAfterCloseReturnErrClosed(t *testing.T) {
	for _, d := range dialectDSN {
		t.Run(d.name, func(t *testing.T) {
			s, err := OpenWithOptions(ctx, d.dsn(t), Options{Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetOrCreate(ctx, Key{SelfID: "a", Role: Initiator, PeerID: "b"}, "init_ready"); !errors.Is(err, ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

// equalRoleState compares with time.Equal for the time fields.
func equalRoleState(a, b RoleState) bool {
	eqS := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Key == b.Key && a.State == b.State &&
		eqS(a.LocalNonce, b.LocalNonce) && eqS(a.PeerNonce, b.PeerNonce) &&
		eqS(a.LocalReference, b.LocalReference) && eqS(a.PeerReference, b.PeerReference) &&
		a.ExchangeCount == b.ExchangeCount && a.FinalizeRetryCount == b.FinalizeRetryCount &&
		eqS(a.PeerAddress, b.PeerAddress) && eqS(a.PeerSignPub, b.PeerSignPub) && eqS(a.PeerKxPub, b.PeerKxPub) &&
		eqT(a.HSDerivedAt, b.HSDerivedAt) && eqT(a.LastSecureAt, b.LastSecureAt) &&
		a.Cycles == b.Cycles && eqT(a.LastCycleAt, b.LastCycleAt) && a.Version == b.Version &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestListReturnsOnlyThatAgentsConversationsInOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		keys := []Key{
			{SelfID: "me", Role: Responder, PeerID: "b"},
			{SelfID: "me", Role: Initiator, PeerID: "c"},
			{SelfID: "me", Role: Initiator, PeerID: "a"},
			{SelfID: "other", Role: Initiator, PeerID: "me"},
		}
		for _, k := range keys {
			if _, err := s.GetOrCreate(ctx, k, "ready"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.List(ctx, "me")
		if err != nil {
			t.Fatal(err)
		}
		want := []Key{keys[2], keys[1], keys[0]}
		if len(got) != len(want) {
			t.Fatalf("List returned %d rows, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Key != want[i] || got[i].State != "ready" {
				t.Errorf("row %d = %s %q, want %s", i, got[i].Key.label(), got[i].State, want[i].label())
			}
		}
		if none, err := s.List(ctx, "nobody"); err != nil || len(none) != 0 {
			t.Fatalf("List(unknown) = %v, %v; want empty", none, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// Rows written by other tools are untrusted: a corrupt time is an error
// naming the problem, never a panic or a silent zero.
func TestCorruptStoredTimeIsAnError(t *testing.T) {
	s := openTestStore(t, "sqlite:"+t.TempDir()+"/corrupt.db", nil)
	k := Key{SelfID: "a", Role: Initiator, PeerID: "b"}
	if _, err := s.GetOrCreate(ctx, k, "init_ready"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE role_state SET hs_derived_at = 'yesterday-ish'`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, k)
	if err == nil || !strings.Contains(err.Error(), "unknown format") || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a corrupt row: %v, want a time-format error", err)
	}
	if _, err := s.Summary(ctx, "a", 10); err != nil {
		t.Fatalf("Summary does not read hs_derived_at as a time and must still work: %v", err)
	}
}

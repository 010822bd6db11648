package store

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

func countNonces(t testing.TB, s *Store, k Key, flow, nonce string) int {
	t.Helper()
	var n int
	if err := s.w.GetContext(ctx, &n, s.w.Rebind(`SELECT count(*) FROM nonce_event
		WHERE self_id = ? AND role = ? AND peer_id = ? AND flow = ? AND nonce = ?`),
		k.SelfID, string(k.Role), k.PeerID, flow, nonce); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpdateRecordingNonceOutcomes(t *testing.T) {
	k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
	for _, tc := range []struct {
		name         string
		prepare      func(t *testing.T, s *Store, rs RoleState) RoleState // returns the row to write
		nonce        string
		wantErr      error
		wantRecorded bool
		wantVersion  int64 // stored version afterwards
	}{
		{"fresh nonce at the current version writes both", func(t *testing.T, s *Store, rs RoleState) RoleState { return rs },
			"n-fresh", nil, true, 2},
		{"recorded nonce is a replay and changes nothing", func(t *testing.T, s *Store, rs RoleState) RoleState {
			if _, err := s.RecordNonceOnce(ctx, k, FlowReceived, "n-seen"); err != nil {
				t.Fatal(err)
			}
			return rs
		}, "n-seen", ErrReplay, true, 1},
		{"nonce recorded for the other flow is not a replay", func(t *testing.T, s *Store, rs RoleState) RoleState {
			if _, err := s.RecordNonceOnce(ctx, k, FlowSent, "n-sent"); err != nil {
				t.Fatal(err)
			}
			return rs
		}, "n-sent", nil, true, 2},
		{"moved row is a conflict and the nonce is not recorded", func(t *testing.T, s *Store, rs RoleState) RoleState {
			if _, err := s.Update(ctx, rs); err != nil {
				t.Fatal(err)
			}
			return rs // still at version 1
		}, "n-late", ErrConflict, false, 2},
		{"moved row with the nonce recorded reports the replay", func(t *testing.T, s *Store, rs RoleState) RoleState {
			if _, err := s.Update(ctx, rs); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordNonceOnce(ctx, k, FlowReceived, "n-both"); err != nil {
				t.Fatal(err)
			}
			return rs
		}, "n-both", ErrReplay, true, 2},
		{"missing row is not found and the nonce is not recorded", func(t *testing.T, s *Store, rs RoleState) RoleState {
			rs.PeerID = "nobody"
			return rs
		}, "n-nobody", ErrNotFound, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
				rs, err := s.GetOrCreate(ctx, k, "resp_ready")
				if err != nil {
					t.Fatal(err)
				}
				next := tc.prepare(t, s, rs)
				next.State = "resp_exchange"
				next.PeerNonce = ptr(tc.nonce)
				next.HSDerivedAt = ptr(clk.Now())
				got, err := s.UpdateRecordingNonce(ctx, next, FlowReceived, tc.nonce)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				if err == nil && (got.Version != 2 || got.State != "resp_exchange" || *got.PeerNonce != tc.nonce ||
					got.HSDerivedAt == nil || !got.HSDerivedAt.Equal(normTime(clk.Now()))) {
					t.Fatalf("returned row %+v does not hold the update", got)
				}
				stored, err := s.Get(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if stored.Version != tc.wantVersion || (tc.wantErr == nil && stored.State != "resp_exchange") {
					t.Fatalf("stored version %d state %q; want version %d", stored.Version, stored.State, tc.wantVersion)
				}
				if tc.wantErr != nil && stored.PeerNonce != nil && *stored.PeerNonce == tc.nonce {
					t.Fatalf("failed call wrote the row: %+v", stored)
				}
				if n := countNonces(t, s, next.Key, FlowReceived, tc.nonce); (n == 1) != tc.wantRecorded || n > 1 {
					t.Fatalf("nonce rows %d, want recorded=%v", n, tc.wantRecorded)
				}
			})
		})
	}
}

func TestUpdateRecordingNonceRejectsBadInputBeforeTheDatabase(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		rs, err := s.GetOrCreate(ctx, k, "init_ready")
		if err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"unknown flow": func() error { _, err := s.UpdateRecordingNonce(ctx, rs, "sideways", "n"); return err },
			"empty nonce":  func() error { _, err := s.UpdateRecordingNonce(ctx, rs, FlowReceived, ""); return err },
			"NUL in nonce": func() error { _, err := s.UpdateRecordingNonce(ctx, rs, FlowReceived, "a\x00b"); return err },
			"empty state": func() error {
				bad := rs
				bad.State = ""
				_, err := s.UpdateRecordingNonce(ctx, bad, FlowReceived, "n")
				return err
			},
		} {
			if err := call(); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: err %v, want ErrInvalid", name, err)
			}
		}
		if got, _ := s.Get(ctx, k); got.Version != 1 {
			t.Fatalf("rejected calls moved the row to version %d", got.Version)
		}
	})
}

// 50 deliveries of one message, all read at the same version: exactly one
// is applied, the others change nothing, and the nonce is logged once.
func TestRacingUpdateRecordingNonceAppliesOneDelivery(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		rs, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		var applied, replays, conflicts atomic.Int32
		errs := race(racers, func(i int) error {
			next := rs
			next.ExchangeCount = i + 1
			_, err := s.UpdateRecordingNonce(ctx, next, FlowReceived, "dup")
			switch {
			case err == nil:
				applied.Add(1)
			case errors.Is(err, ErrReplay):
				replays.Add(1)
			case errors.Is(err, ErrConflict):
				conflicts.Add(1)
			default:
				return err
			}
			return nil
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, k)
		if applied.Load() != 1 || got.Version != 2 || countNonces(t, s, k, FlowReceived, "dup") != 1 {
			t.Fatalf("applied %d (replays %d, conflicts %d), version %d; want exactly one applied at version 2 and one nonce row",
				applied.Load(), replays.Load(), conflicts.Load(), got.Version)
		}
		if replays.Load()+conflicts.Load() != racers-1 {
			t.Fatalf("%d replays + %d conflicts, want %d", replays.Load(), conflicts.Load(), racers-1)
		}
	})
}

// 50 distinct messages on one row, each retried on conflict as the engine
// does: every one is applied once, and only applied attempts left a nonce.
func TestRacingUpdateRecordingNonceWithRetriesLosesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		if _, err := s.GetOrCreate(ctx, k, "init_exchange"); err != nil {
			t.Fatal(err)
		}
		var conflicts atomic.Int64
		errs := race(racers, func(i int) error {
			nonce := fmt.Sprintf("n-%d", i)
			for attempt := 0; attempt < 10000; attempt++ {
				rs, err := s.Get(ctx, k)
				if err != nil {
					return err
				}
				rs.ExchangeCount++
				_, err = s.UpdateRecordingNonce(ctx, rs, FlowReceived, nonce)
				if err == nil {
					return nil
				}
				if !errors.Is(err, ErrConflict) {
					return err
				}
				if countNonces(t, s, k, FlowReceived, nonce) != 0 {
					return fmt.Errorf("conflicting attempt recorded nonce %s", nonce)
				}
				conflicts.Add(1)
			}
			return errors.New("no progress after 10000 attempts")
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, k)
		if got.ExchangeCount != racers || got.Version != racers+1 {
			t.Fatalf("exchange_count %d version %d; want %d and %d", got.ExchangeCount, got.Version, racers, racers+1)
		}
		for i := 0; i < racers; i++ {
			if n := countNonces(t, s, k, FlowReceived, fmt.Sprintf("n-%d", i)); n != 1 {
				t.Fatalf("nonce n-%d recorded %d times, want 1", i, n)
			}
		}
		t.Logf("%d conflicts retried", conflicts.Load())
	})
}

// The combined call and a plain RecordNonceOnce racing for one nonce: the
// nonce is new for exactly one of them, and the row moved only if the
// combined call won.
func TestRacingUpdateRecordingNonceAgainstRecordNonceOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		for round := 0; round < 3; round++ {
			rs, err := s.GetOrCreate(ctx, k, "resp_ready")
			if err != nil {
				t.Fatal(err)
			}
			nonce := fmt.Sprintf("contested-%d", round)
			var updates, inserts atomic.Int32
			errs := race(racers, func(i int) error {
				if i%2 == 0 {
					isNew, err := s.RecordNonceOnce(ctx, k, FlowReceived, nonce)
					if isNew {
						inserts.Add(1)
					}
					return err
				}
				_, err := s.UpdateRecordingNonce(ctx, rs, FlowReceived, nonce)
				if err == nil {
					updates.Add(1)
					return nil
				}
				if errors.Is(err, ErrReplay) || errors.Is(err, ErrConflict) {
					return nil
				}
				return err
			})
			if err := firstErr(errs); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Get(ctx, k)
			if updates.Load()+inserts.Load() != 1 {
				t.Fatalf("round %d: %d updates and %d inserts saw the nonce as new, want 1 in all", round, updates.Load(), inserts.Load())
			}
			if moved := got.Version != rs.Version; moved != (updates.Load() == 1) {
				t.Fatalf("round %d: row at version %d after %d applied updates (from %d)", round, got.Version, updates.Load(), rs.Version)
			}
		}
	})
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func stepFor(rs RoleState, state string) Step {
	rs.State = state
	return Step{Key: rs.Key, Next: rs, Write: true}
}

func mustCreate(t *testing.T, s *Store, k Key) RoleState {
	t.Helper()
	rs, err := s.GetOrCreate(ctx, k, "resp_ready")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func logged(t *testing.T, s *Store, k Key, flow, nonce string) bool {
	t.Helper()
	ok, err := s.NonceExists(ctx, k, flow, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// One batch, one commit: a stale version, a replayed nonce and a missing
// row fail only their own steps, and write nothing of themselves; the
// good steps around them are saved with their nonces and cycle.
func TestApplyStepsFailsOnlyTheStepsThatConflictReplayOrMissTheirRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		good := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "good"})
		stale := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "stale"})
		if _, err := s.Update(ctx, stale); err != nil { // another writer moved it
			t.Fatal(err)
		}
		replayed := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "replayed"})
		if _, err := s.RecordNonceOnce(ctx, replayed.Key, FlowReceived, "old"); err != nil {
			t.Fatal(err)
		}
		hsReplayed := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "hs"})
		if _, err := s.RecordNonceOnce(ctx, hsReplayed.Key, FlowHS, "hs-old"); err != nil {
			t.Fatal(err)
		}
		missing := Key{SelfID: "self", Role: Responder, PeerID: "missing"}
		at := clk.Now()

		steps := []Step{
			stepFor(stale, "resp_exchange"),
			stepFor(good, "resp_exchange"),
			stepFor(replayed, "resp_exchange"),
			stepFor(hsReplayed, "resp_exchange"),
			{Key: missing, Next: RoleState{Key: missing, State: "resp_exchange", Version: 1}, Write: true},
			{Key: Key{SelfID: "self", Role: Responder, PeerID: "bad\x00id"}},
		}
		steps[0].Received = "n-stale"
		steps[1].Received, steps[1].HSNonce, steps[1].CycleAt = "n-good", "hs-good", &at
		steps[2].Received = "old"
		steps[3].HSNonce, steps[3].Received = "hs-old", "n-hs"
		res, err := s.ApplySteps(ctx, steps)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []error{ErrConflict, nil, ErrReplay, ErrReplay, ErrNotFound, ErrInvalid} {
			if !errors.Is(res[i].Err, want) || (want == nil && res[i].Err != nil) {
				t.Fatalf("step %d: err %v, want %v", i, res[i].Err, want)
			}
		}
		if res[2].ReplayFlow != FlowReceived || res[3].ReplayFlow != FlowHS {
			t.Fatalf("replay flows %q %q", res[2].ReplayFlow, res[3].ReplayFlow)
		}
		if res[1].Row.State != "resp_exchange" || res[1].Row.Version != 2 || res[1].Cycles != 1 {
			t.Fatalf("good step result %+v", res[1])
		}
		if !logged(t, s, good.Key, FlowReceived, "n-good") || !logged(t, s, good.Key, FlowHS, "hs-good") {
			t.Fatal("the good step's nonces were not logged")
		}
		if logged(t, s, stale.Key, FlowReceived, "n-stale") || logged(t, s, hsReplayed.Key, FlowReceived, "n-hs") {
			t.Fatal("a failed step left its nonce marked as seen")
		}
		for _, k := range []Key{stale.Key, replayed.Key, hsReplayed.Key} {
			got, err := s.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != "resp_ready" {
				t.Fatalf("%s: failed step wrote the row (%s)", k.PeerID, got.State)
			}
		}
	})
}

// The end of a cycle clears the pair's sent and received log but keeps hs
// nonces, and logs the step's own received nonce after the clear.
func TestApplyStepsClearsThePairLogThenLogsTheStepsNonce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		rs := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "p"})
		for _, n := range []struct{ flow, nonce string }{{FlowReceived, "r1"}, {FlowSent, "s1"}, {FlowHS, "h1"}} {
			if _, err := s.RecordNonceOnce(ctx, rs.Key, n.flow, n.nonce); err != nil {
				t.Fatal(err)
			}
		}
		at := clk.Now()
		st := stepFor(rs, "resp_ready")
		st.Received, st.ClearPairNonces, st.CycleAt = "r2", true, &at
		res, err := s.ApplySteps(ctx, []Step{st})
		if err != nil || res[0].Err != nil {
			t.Fatalf("apply: %v / %v", err, res[0].Err)
		}
		if logged(t, s, rs.Key, FlowReceived, "r1") || logged(t, s, rs.Key, FlowSent, "s1") {
			t.Fatal("pair log not cleared")
		}
		if !logged(t, s, rs.Key, FlowHS, "h1") || !logged(t, s, rs.Key, FlowReceived, "r2") {
			t.Fatal("hs log or the step's nonce lost")
		}
		// A second delivery of r2 with the same version conflicts, not
		// replays: the row moved (the documented order: missing, replay, conflict).
		res, err = s.ApplySteps(ctx, []Step{{Key: rs.Key, Next: res[0].Row, Write: true, Received: "r2"}})
		if err != nil || !errors.Is(res[0].Err, ErrReplay) {
			t.Fatalf("redelivery: %v / %v, want ErrReplay", err, res[0].Err)
		}
	})
}

// Many writers, each batching steps for the same rows: every CAS step that
// reports success is one increment (no lost update), and of the steps that
// accept one nonce at most one succeeds.
func TestRacingBatchesKeepCompareAndSetAndRecordOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		const rows, writers, rounds = 4, 8, 15
		keys := make([]Key, rows)
		for i := range keys {
			keys[i] = mustCreate(t, s, Key{SelfID: "self", Role: Initiator, PeerID: fmt.Sprintf("p%d", i)}).Key
		}
		var mu sync.Mutex
		wins := map[[2]int]int{} // (row, round) -> steps applied
		var replays atomic.Int64
		plain := make([]atomic.Int64, rows)
		errs := race(writers, func(w int) error {
			for r := 0; r < rounds; r++ {
				steps := make([]Step, 0, rows)
				for _, k := range keys {
					rs, err := s.Get(ctx, k)
					if err != nil {
						return err
					}
					rs.ExchangeCount++
					// Even writers accept the same nonce per row and round;
					// odd ones write without a nonce (plain CAS).
					st := Step{Key: k, Next: rs, Write: true}
					if w%2 == 0 {
						st.Received = fmt.Sprintf("r%d", r)
					}
					steps = append(steps, st)
				}
				res, err := s.ApplySteps(ctx, steps)
				if err != nil {
					return err
				}
				for i, sr := range res {
					switch {
					case sr.Err == nil && w%2 == 1:
						plain[i].Add(1)
					case sr.Err == nil:
						mu.Lock()
						wins[[2]int{i, r}]++
						mu.Unlock()
					case errors.Is(sr.Err, ErrReplay):
						replays.Add(1)
					case !errors.Is(sr.Err, ErrConflict):
						return sr.Err
					}
				}
			}
			return nil
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		perRow := make([]int, rows)
		for rr, n := range wins {
			if n > 1 {
				t.Fatalf("row %d nonce r%d accepted %d times", rr[0], rr[1], n)
			}
			perRow[rr[0]] += n
		}
		for i := range perRow {
			perRow[i] += int(plain[i].Load())
		}
		for i, k := range keys {
			got, err := s.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if got.ExchangeCount != perRow[i] || got.Version != int64(perRow[i]+1) || perRow[i] == 0 {
				t.Fatalf("%s: exchange_count %d version %d, but %d steps reported saved", k.PeerID, got.ExchangeCount, got.Version, perRow[i])
			}
		}
		t.Logf("%d steps applied, %d replays rejected", len(wins), replays.Load())
	})
}

// A batch whose connection is killed mid-statement is all or nothing:
// when ApplySteps returns an error none of its steps is visible, and every
// batch it acknowledged is, in full, with no step of it seen as a replay
// of a killed attempt (database/sql re-runs a statement whose connection
// died before it completed). The kill is made deterministic by
// holding, from another transaction, a lock the batch needs part-way
// (one step's row, or one step's nonce inserted but not committed), and
// terminating the batch's backend while it waits.
func TestBatchKilledMidFlightLosesNoAcknowledgedStep(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := openTestStore(t, dsn, nil)
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const batch = 200
	rows := make([]RoleState, batch)
	for i := range rows {
		rows[i] = mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: fmt.Sprintf("p%d", i)})
	}
	last := rows[batch-1].Key
	acked, failed := 0, 0
	for round := 0; round < 6; round++ {
		nonce := fmt.Sprintf("n%d", round)
		steps := make([]Step, batch)
		for i, rs := range rows {
			steps[i] = Step{Key: rs.Key, Next: rs, Write: true, Received: nonce}
		}
		var blocker *sql.Tx
		switch round % 3 {
		case 0: // the last step's row is locked
			blocker = beginBlocker(t, admin, `SELECT 1 FROM role_state WHERE self_id = $1 AND role = $2 AND peer_id = $3 FOR UPDATE`,
				last.SelfID, string(last.Role), last.PeerID)
		case 1: // the last step's nonce is being inserted by another transaction
			blocker = beginBlocker(t, admin, `INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
				VALUES ($1, $2, $3, 'received', $4, now())`, last.SelfID, string(last.Role), last.PeerID, nonce)
		}
		done := make(chan error, 1)
		go func() {
			res, err := s.ApplySteps(ctx, steps)
			for i := 0; err == nil && i < len(res); i++ {
				// database/sql may re-run a statement whose connection
				// died: it must find nothing of the killed attempt.
				err = res[i].Err
			}
			done <- err
		}()
		if blocker != nil {
			killWaitingBackend(t, admin)
			blocker.Rollback()
		}
		err := <-done
		var visible int
		if err := admin.QueryRow(`SELECT count(*) FROM nonce_event WHERE flow = 'received' AND nonce = $1`, nonce).Scan(&visible); err != nil {
			t.Fatal(err)
		}
		switch {
		case err == nil && visible != batch:
			t.Fatalf("round %d: acknowledged batch but only %d of %d steps visible", round, visible, batch)
		case err == nil:
			acked++
		case visible != 0:
			t.Fatalf("round %d: failed batch left %d of %d steps visible", round, visible, batch)
		default:
			failed++
		}
		if visible == batch {
			for i := range rows {
				rows[i].Version++
			}
		}
	}
	t.Logf("%d batches acknowledged, %d cut off", acked, failed)

	s.Close()
	if _, err := s.ApplySteps(context.Background(), []Step{{Key: rows[0].Key}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func beginBlocker(t *testing.T, db *sql.DB, query string, args ...any) *sql.Tx {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(query, args...); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	return tx
}

// killWaitingBackend terminates the backend that waits for a lock in this
// database (bounded: 10 s).
func killWaitingBackend(t *testing.T, db *sql.DB) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		var n int
		if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the batch never waited for the blocker's lock")
}

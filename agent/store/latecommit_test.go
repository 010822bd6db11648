package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitForVersion polls k's row until its version reaches want or 2 s pass,
// and returns the last row read.
func waitForVersion(t *testing.T, s *Store, k Key, want int64) RoleState {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		cur, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Version >= want || time.Now().After(deadline) {
			return cur
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A transition whose deadline passed at the socket while it waited for a
// row lock is not cancelled on the server (the store closes the socket, it
// sends no CancelRequest): it commits once the lock is released. The
// caller saw a timeout and retries the same transition; compare-and-set
// recognises it as already applied (ErrConflict, or ErrReplay for its
// nonce), so the transition lands exactly once (docs/database.md, "Late
// commits"). With prepared statements the server's own statement_timeout
// ends the call first (servertimeout.go): then the timeout means the
// transition was rolled back, and the retry applies it.
func TestTimedOutTransitionCommittedLateIsNotAppliedTwice(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		s := openOneConnStore(t, dsn)
		for _, c := range []struct {
			what  string
			apply func(ctx context.Context, next RoleState) error
			retry []error // what the retry may get
		}{
			{"Update", func(ctx context.Context, next RoleState) error {
				_, err := s.Update(ctx, next)
				return err
			}, []error{ErrConflict}},
			{"UpdateRecordingNonce", func(ctx context.Context, next RoleState) error {
				_, err := s.UpdateRecordingNonce(ctx, next, FlowReceived, "late-n1")
				return err
			}, []error{ErrConflict, ErrReplay}},
		} {
			k := Key{SelfID: "self", Role: Initiator, PeerID: "late-" + c.what}
			rs, err := s.GetOrCreate(ctx, k, "init_ready")
			if err != nil {
				t.Fatal(err)
			}
			// Prepared on the connection already: the first EXECUTE of a
			// statement runs in a prepare transaction, which would roll back.
			if rs, err = s.Update(ctx, rs); err != nil {
				t.Fatal(err)
			}
			next := rs
			next.State, next.ExchangeCount = "init_exchange", rs.ExchangeCount+1

			release := holdRowLock(t, dsn, k)
			tctx, cancel := context.WithTimeout(ctx, stallDeadline)
			err = c.apply(tctx, next)
			cancel()
			release()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s under a row lock: %v, want a deadline error", c.what, err)
			}

			// Ended at the socket: whether the statement commits once the
			// lock is gone or is rolled back (the server found the client
			// gone first) depends on timing; unprepared it has committed in
			// every run. Ended by the server: rolled back before the error
			// reached us. Either way the transition must end up applied once.
			serverEnded := name != "postgres-unprepared"
			var late RoleState
			if serverEnded {
				if late, err = s.Get(ctx, k); err != nil {
					t.Fatal(err)
				}
			} else {
				late = waitForVersion(t, s, k, rs.Version+1)
			}
			committedLate := late.Version == rs.Version+1
			if committedLate && serverEnded {
				t.Fatalf("%s: the server ended the call, yet the transition committed (version %d)", c.what, late.Version)
			}
			if committedLate && (late.State != next.State || late.ExchangeCount != next.ExchangeCount) {
				t.Fatalf("%s: late row %s count %d, want %s count %d", c.what, late.State, late.ExchangeCount, next.State, next.ExchangeCount)
			}
			if !committedLate && name == "postgres-unprepared" {
				t.Fatalf("%s: the timed-out transition did not commit late (version %d): this test no longer covers a late commit", c.what, late.Version)
			}
			t.Logf("%s: timed out, committed late: %v", c.what, committedLate)

			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = c.apply(rctx, next)
			cancel()
			recognised := false
			for _, want := range c.retry {
				recognised = recognised || errors.Is(err, want)
			}
			switch {
			case committedLate && !recognised:
				t.Errorf("%s: retry of a transition that committed late: %v, want one of %v", c.what, err, c.retry)
			case !committedLate && err != nil:
				t.Errorf("%s: retry of a transition that never committed: %v, want it applied", c.what, err)
			}
			// The retry returned: nothing of this row is in flight any more.
			if cur, err := s.Get(ctx, k); err != nil || cur.Version != rs.Version+1 {
				t.Errorf("%s: after the retry: version %d, %v; want %d (applied once)", c.what, cur.Version, err, rs.Version+1)
			}
		}
	})
}

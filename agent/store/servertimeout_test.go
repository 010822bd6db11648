package store

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestServerTimeoutLeavesTheAnswerAMargin(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		left time.Duration
		want time.Duration
		ok   bool
	}{
		{5 * time.Second, 5*time.Second - serverMarginMax, true}, // the engine's default call deadline
		{400 * time.Millisecond, 320 * time.Millisecond, true},
		{12 * time.Millisecond, 0, false}, // 9.6 ms: the socket alone
		{0, 0, false},
		{-time.Second, 0, false},
	} {
		got, ok := serverTimeout(now, now.Add(c.left))
		if got != c.want || ok != c.ok {
			t.Errorf("serverTimeout with %v left = %v, %v; want %v, %v", c.left, got, ok, c.want, c.ok)
		}
	}
}

// A batch of the group commit (one statement, several rows) blocked by a
// row lock on one of its rows: the server ends it at its statement_timeout
// and rolls it back whole, so the timeout is unambiguous (no step
// applied, none commits later), the connection is kept, and the same
// batch applies once the lock is gone.
func TestBatchEndedByTheServerAppliesNothingAndKeepsTheConnection(t *testing.T) {
	for _, name := range []string{DialectPostgres, "pgbouncer"} {
		t.Run(name, func(t *testing.T) {
			var dsn string
			for _, d := range dialectDSN {
				if d.name == name {
					dsn = d.dsn(t)
				}
			}
			s := openOneConnStore(t, dsn)
			free := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "free"})
			locked := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "locked"})
			steps := func() []Step {
				a, b := stepFor(free, "resp_exchange"), stepFor(locked, "resp_exchange")
				a.Received, b.Received = "n-free", "n-locked"
				return []Step{a, b}
			}
			// Prepare the batch statement on this connection first: a
			// missing statement is prepared in a transaction of its own.
			warm := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "warm"})
			warm2 := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "warm2"})
			if _, err := s.ApplySteps(ctx, []Step{stepFor(warm, "resp_exchange"), stepFor(warm2, "resp_exchange")}); err != nil {
				t.Fatal(err)
			}

			release := holdRowLock(t, dsn, locked.Key)
			byServer, bySocket := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket)
			pid := s.backendPID()
			timedCall(t, "ApplySteps", func(c context.Context) error { _, err := s.ApplySteps(c, steps()); return err })
			if gs, gk := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket); gs != byServer+1 || gk != bySocket {
				t.Errorf("timeouts ended by server %v, by socket %v; want %v, %v", gs, gk, byServer+1, bySocket)
			}
			if got := s.backendPID(); name == DialectPostgres && got != pid {
				t.Errorf("backend %d replaced by %d after a timeout the server ended", pid, got)
			}
			// Rolled back whole, before the error reached us: the free row
			// is unchanged and its nonce unlogged, with the lock still held.
			if got, err := s.Get(ctx, free.Key); err != nil || got.Version != free.Version {
				t.Fatalf("free row after the timed-out batch: version %d, %v; want %d", got.Version, err, free.Version)
			}
			if logged(t, s, free.Key, FlowReceived, "n-free") {
				t.Fatal("the timed-out batch logged a nonce")
			}
			release()

			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			res, err := s.ApplySteps(c, steps())
			if err != nil {
				t.Fatalf("the same batch after the lock: %v", err)
			}
			for i, r := range res {
				if r.Err != nil || r.Row.Version != 2 {
					t.Errorf("step %d after the lock: %+v; want applied at version 2", i, r)
				}
			}
		})
	}
}

func TestBackstopIsLaterThanTheDeadline(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct{ left, want time.Duration }{
		{5 * time.Second, 5*time.Second + backstopMax},
		{400 * time.Millisecond, 600 * time.Millisecond},
		{0, 0},
		{-time.Second, -time.Second}, // never sent: arm fails first
	} {
		if got := backstop(now, now.Add(c.left)).Sub(now); got != c.want {
			t.Errorf("backstop with %v left = %v after now; want %v", c.left, got, c.want)
		}
	}
}

// An answer that reaches the socket just after the call's deadline (the
// client was not scheduled in time, or the server was a little slow) is
// read, not thrown away with its connection: the socket's deadline is the
// backstop, later than the call's.
func TestAnswerJustPastTheDeadlineKeepsItsConnection(t *testing.T) {
	s := openOneConnStore(t, pgtest.DSN(t))
	pid := s.backendPID()
	bySocket := timeoutsEndedBy(endedBySocket)
	c, cancel := context.WithTimeout(ctx, stallDeadline)
	defer cancel()
	start := time.Now()
	// Not a hot statement, so no server timeout: only the socket bounds it.
	err := s.onWriter(c, func(c context.Context, w writer) error {
		_, err := w.ExecContext(c, `SELECT pg_sleep($1)`, (stallDeadline + stallDeadline/8).Seconds())
		return err
	})
	if took := time.Since(start); err != nil {
		if took > backstop(start, start.Add(stallDeadline)).Sub(start)-20*time.Millisecond {
			t.Skipf("the machine is too loaded to tell: answer after %v: %v", took, err)
		}
		t.Fatalf("a statement answered %v after its deadline failed: %v (after %v)", stallDeadline/8, err, took)
	}
	if got := s.backendPID(); got != pid {
		t.Errorf("backend %d replaced by %d", pid, got)
	}
	if got := timeoutsEndedBy(endedBySocket); got != bySocket {
		t.Errorf("socket timeouts %v, want %v", got, bySocket)
	}
}

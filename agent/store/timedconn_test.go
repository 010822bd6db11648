package store

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	dto "github.com/prometheus/client_model/go"
)

// stallDeadline is the per-call deadline of the stall tests; stallSlack is
// how late past it a call may return on this shared, loaded machine.
const (
	stallDeadline = 400 * time.Millisecond
	stallSlack    = 1500 * time.Millisecond
)

// postgresTargets are the PostgreSQL DSNs of dialectDSN (direct, through
// PgBouncer, unprepared).
func forEachPostgres(t *testing.T, fn func(t *testing.T, name, dsn string)) {
	for _, d := range dialectDSN {
		if d.dialect != DialectPostgres {
			continue
		}
		t.Run(d.name, func(t *testing.T) { fn(t, d.name, d.dsn(t)) })
	}
}

// openOneConnStore is a store with a single pooled connection, so a test
// knows which server backend its calls use.
func openOneConnStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := OpenWithOptions(ctx, dsn, Options{Logger: quietLogger(), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// timedCall runs fn with a fresh stallDeadline context and checks that it
// failed as a timeout, about when the deadline passed.
func timedCall(t *testing.T, what string, fn func(ctx context.Context) error) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stallDeadline)
	defer cancel()
	start := time.Now()
	err := fn(c)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s under a stall: %v, want a deadline error", what, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%s: %v is not a net.Error with Timeout()", what, err)
	}
	// A hot statement ends at the server's timeout, a little before the
	// deadline (servertimeout.go); anything else at the deadline.
	earliest, _ := serverTimeout(start, start.Add(stallDeadline))
	if took < earliest-20*time.Millisecond || took > stallDeadline+stallSlack {
		t.Errorf("%s returned after %v, want between %v and %v", what, took, earliest, stallDeadline)
	}
}

// timeoutsEndedBy reads hsfleet_store_call_timeouts_total{ended_by}.
func timeoutsEndedBy(by string) float64 {
	var m dto.Metric
	if err := callTimeouts.WithLabelValues(by).Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// counted reads hsfleet_store_operations_total for op and result.
func counted(op, result string) float64 {
	var m dto.Metric
	if err := opsTotal.WithLabelValues(op, DialectPostgres, result).Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// holdRowLock locks k's row in a transaction of its own until the test
// calls the returned release.
func holdRowLock(t *testing.T, dsn string, k Key) (release func()) {
	t.Helper()
	return holdLock(t, dsn, `SELECT 1 FROM role_state WHERE self_id = $1 AND role = $2 AND peer_id = $3 FOR UPDATE`,
		k.SelfID, string(k.Role), k.PeerID)
}

// holdLock runs lock (a SELECT ... FOR UPDATE) in a transaction of its
// own, held until the test calls the returned release.
func holdLock(t *testing.T, dsn, lock string, args ...any) (release func()) {
	t.Helper()
	dsn, _, err := takePrepareParam(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(lock, args...); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback()
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// A row lock held elsewhere stalls the compare-and-set. The call must end
// at its deadline as a timeout (counted as such), and the store must keep
// working afterwards on a sound connection. With prepared statements the
// server ends the call (its statement_timeout) and the connection is kept:
// no reconnect per timeout; without, the socket ends it and the
// connection is replaced.
func TestDeadlineBoundsCallWaitingForRowLock(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		s := openOneConnStore(t, dsn)
		k := Key{SelfID: "self", Role: Initiator, PeerID: "locked"}
		rs, err := s.GetOrCreate(ctx, k, "init_ready")
		if err != nil {
			t.Fatal(err)
		}
		// Prepared there already (the first EXECUTE on a connection
		// prepares in a transaction, which database/sql watches).
		if rs, err = s.Update(ctx, rs); err != nil {
			t.Fatal(err)
		}
		release := holdRowLock(t, dsn, k)
		timeouts := counted("update", "timeout")
		byServer, bySocket := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket)
		pid := s.backendPID()
		next := rs
		next.State = "init_exchange"
		// No goroutine watches the blocked call (database/sql and lib/pq
		// each started one per query before).
		sample := make(chan int, 1)
		baseline := runtime.NumGoroutine() + 1 // the sampler
		go func() { time.Sleep(stallDeadline / 2); sample <- runtime.NumGoroutine() }()
		timedCall(t, "Update", func(c context.Context) error { _, err := s.Update(c, next); return err })
		// Through PgBouncer the blocked EXECUTE may land on a server
		// connection without the statement, and then runs in the
		// prepare transaction, which database/sql does watch.
		if during := <-sample; during > baseline && name != "pgbouncer" {
			t.Errorf("%d goroutines during the blocked call, %d before it", during, baseline)
		}
		if got := counted("update", "timeout"); got != timeouts+1 {
			t.Errorf("update timeouts counted %v, want %v", got, timeouts+1)
		}
		timedCall(t, "UpdateRecordingNonce", func(c context.Context) error {
			_, err := s.UpdateRecordingNonce(c, next, FlowReceived, "n1")
			return err
		})
		serverEnded := name != "postgres-unprepared" // only the hot statements carry the SET
		wantServer, wantSocket := byServer, bySocket+2
		if serverEnded {
			wantServer, wantSocket = byServer+2, bySocket
		}
		if gs, gk := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket); gs != wantServer || gk != wantSocket {
			t.Errorf("timeouts ended by server %v, by socket %v; want %v, %v", gs, gk, wantServer, wantSocket)
		}
		// Behind PgBouncer the server connection may change anyway.
		if got := s.backendPID(); name == DialectPostgres && got != pid {
			t.Errorf("backend %d replaced by %d after timeouts the server ended: a reconnect per timeout", pid, got)
		} else if name == "postgres-unprepared" && got == pid {
			t.Errorf("the connection whose call timed out at the socket (backend %d) was reused", pid)
		}
		release()

		// The store recovers: the next calls, with deadlines, succeed.
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cur, err := s.Get(c, k)
		if err != nil {
			t.Fatalf("read after the stall: %v", err)
		}
		next = cur
		next.State = "init_finalize_propose"
		if _, err := s.Update(c, next); err != nil {
			t.Fatalf("update after the stall: %v", err)
		}
	})
}

// A server that does not answer at all (its backend stopped with SIGSTOP,
// as a frozen VM or a lost network path would look): the call ends at its
// deadline, and the next call runs on a new server connection, not the
// one with the half-read reply.
func TestDeadlineBoundsCallToStoppedBackend(t *testing.T) {
	s := openOneConnStore(t, pgtest.DSN(t))
	k := Key{SelfID: "self", Role: Responder, PeerID: "frozen"}
	rs, err := s.GetOrCreate(ctx, k, "resp_ready")
	if err != nil {
		t.Fatal(err)
	}
	pid := s.backendPID()
	if pid == 0 {
		t.Fatal("no backend pid")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Skipf("cannot stop the backend: %v", err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	next := rs
	next.State = "resp_exchange"
	timedCall(t, "Update", func(c context.Context) error { _, err := s.Update(c, next); return err })
	resume()

	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Update(c, next); err != nil && !errors.Is(err, ErrConflict) {
		t.Fatalf("update after the stall: %v", err)
	}
	if got := s.backendPID(); got == pid {
		t.Errorf("the timed-out connection (backend %d) was reused", pid)
	}
}

// pg_sleep stands for any slow statement. The deadline also bounds the
// wait for a pooled connection: with the only connection busy, a second
// call fails at its own deadline, not the first call's.
func TestDeadlineBoundsSlowStatementAndPoolWait(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		s := openOneConnStore(t, dsn)
		sleep := func(c context.Context) error {
			return s.onWriter(c, func(c context.Context, w writer) error {
				_, err := w.ExecContext(c, `SELECT pg_sleep(30)`)
				return err
			})
		}
		timedCall(t, "pg_sleep", sleep)

		conn, err := s.w.Conn(ctx) // the pool's only connection
		if err != nil {
			t.Fatal(err)
		}
		timedCall(t, "RecordNonceOnce waiting for a connection", func(c context.Context) error {
			_, err := s.RecordNonceOnce(c, Key{SelfID: "self", Role: Responder, PeerID: "p"}, FlowReceived, "n")
			return err
		})
		conn.Close()

		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		isNew, err := s.RecordNonceOnce(c, Key{SelfID: "self", Role: Responder, PeerID: "p"}, FlowReceived, "n")
		if err != nil || !isNew {
			t.Fatalf("RecordNonceOnce after the stall = %v, %v; want true, nil", isNew, err)
		}
	})
}

// A context that can be cancelled but has no deadline keeps database/sql's
// and lib/pq's own cancellation: cancelling it stops a running statement.
func TestCancelWithoutDeadlineStopsStatement(t *testing.T) {
	s := openOneConnStore(t, pgtest.DSN(t))
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(stallDeadline, cancel)
	start := time.Now()
	err := s.onWriter(c, func(c context.Context, w writer) error {
		_, err := w.ExecContext(c, `SELECT pg_sleep(30)`)
		return err
	})
	if err == nil || time.Since(start) > stallDeadline+stallSlack {
		t.Fatalf("cancelled pg_sleep: %v after %v", err, time.Since(start))
	}
}

// A deadline that has already passed fails the call before anything is
// sent, and leaves the connection usable.
func TestExpiredDeadlineSendsNothing(t *testing.T) {
	s := openOneConnStore(t, pgtest.DSN(t))
	pid := s.backendPID()
	var calls int
	err := s.onWriter(ctx, func(c context.Context, w writer) error {
		calls++
		_, err := w.ExecContext(&boundCtx{Context: c, deadline: time.Now().Add(-time.Second)}, `SELECT 1`)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Fatalf("expired deadline: %v (%d calls)", err, calls)
	}
	if got := s.backendPID(); got != pid {
		t.Errorf("backend %d replaced by %d after a call that sent nothing", pid, got)
	}
}

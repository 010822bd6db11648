package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lib/pq"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// A PostgreSQL restart mid-run: operations fail with errors while the
// server is down (no panic, no hang past their context), and succeed again
// once it is back, on the same Store, with the data intact. The cluster is
// this test's own, so other tests never see the outage.
func TestPostgresRestartMidRunFailsThenRecovers(t *testing.T) {
	cluster := pgtest.NewCluster(t, pgtest.ClusterOptions{})
	s := openTestStore(t, cluster.NewDatabase(t), nil)
	k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
	if _, err := s.GetOrCreate(ctx, k, "init_ready"); err != nil {
		t.Fatal(err)
	}

	// Writers keep running through the outage, as the engine would.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okBefore, failed, okAfter int
	restarted := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ { // bounded; normally ended by stop
				select {
				case <-stop:
					return
				default:
				}
				opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := s.RecordNonceOnce(opCtx, k, FlowSent, fmt.Sprintf("w%d-%d", w, i))
				cancel()
				mu.Lock()
				switch {
				case err != nil:
					failed++
				case isClosed(restarted):
					okAfter++
				default:
					okBefore++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	errorsBefore := counterValue(opsTotal.WithLabelValues("record_nonce", DialectPostgres, "error"))
	// Phases advance on observed progress, not on sleeps, so a loaded CI
	// machine cannot make the test flaky.
	count := func(p *int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return *p > 0 }
	}
	waitFor(t, "writes before the restart", count(&okBefore))

	began := time.Now()
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("server stopped in %v", time.Since(began))
	downCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err := s.Get(downCtx, k)
	cancel()
	t.Logf("Get with the server down failed after %v: %v", time.Since(began), err)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get with the server down: err = %v, want a connection error", err)
	}
	waitFor(t, "writes failing during the outage", count(&failed))

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	close(restarted)
	t.Logf("server back after %v", time.Since(began))
	// The first failure on a connection that died with the old server
	// drops the whole idle pool, so recovery takes at most a few attempts.
	var rs RoleState
	attempts := 0
	for ; attempts < 10; attempts++ {
		if rs, err = s.Get(ctx, k); err == nil {
			break
		}
	}
	if err != nil || rs.State != "init_ready" {
		t.Fatalf("after restart: %+v, %v; want the row back", rs, err)
	}
	t.Logf("first read after restart succeeded after %d failed attempts", attempts)
	for i := 0; i < 20; i++ {
		if _, err := s.BumpCycles(ctx, k, time.Now()); err != nil {
			t.Fatalf("operation %d after recovery failed: %v", i, err)
		}
	}
	waitFor(t, "writes after the restart", count(&okAfter))
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("writes ok before restart %d, failed %d, ok after %d", okBefore, failed, okAfter)
	if okBefore == 0 || failed == 0 || okAfter == 0 {
		t.Fatalf("want writes to succeed, then fail during the outage, then succeed: %d/%d/%d", okBefore, failed, okAfter)
	}
	if got := counterValue(opsTotal.WithLabelValues("record_nonce", DialectPostgres, "error")) - errorsBefore; got < float64(failed) {
		t.Fatalf("error metric rose by %v, want at least %d", got, failed)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 60s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func TestIsConnectionErrorClassifies(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"bad conn", driver.ErrBadConn, true},
		{"admin shutdown", &pq.Error{Code: "57P01"}, true},
		{"connection failure", &pq.Error{Code: "08006"}, true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"conflict", ErrConflict, false},
		{"plain", errors.New("syntax"), false},
		// Slow, not gone: a startup past connect_timeout, a call past its deadline.
		{"connect timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, false},
		{"call deadline", &callTimeoutError{cause: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}}, false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
	}
	for _, tc := range cases {
		if got := isConnectionError(tc.err); got != tc.want {
			t.Errorf("%s: isConnectionError = %v, want %v", tc.name, got, tc.want)
		}
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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
	time.Sleep(200 * time.Millisecond)

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
	time.Sleep(200 * time.Millisecond)

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	close(restarted)
	t.Logf("server back after %v", time.Since(began))
	// Each pooled connection that died with the old server may fail once
	// before database/sql discards it; after that everything works.
	var rs RoleState
	for attempt := 0; attempt < 20; attempt++ {
		if rs, err = s.Get(ctx, k); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || rs.State != "init_ready" {
		t.Fatalf("after restart: %+v, %v; want the row back", rs, err)
	}
	for i := 0; i < 20; i++ {
		if _, err := s.BumpCycles(ctx, k, time.Now()); err != nil {
			t.Fatalf("operation %d after recovery failed: %v", i, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
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

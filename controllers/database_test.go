package controllers

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

func TestStorePoolRemembersFailuresAndHidesTheDSN(t *testing.T) {
	const dsn = "postgres://user:s3cret@127.0.0.1:1/db"
	opens := 0
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewStorePool(time.Second)
	p.now = func() time.Time { return now }
	p.open = func(ctx context.Context, got string) (*store.Store, error) {
		opens++
		return nil, errors.New("dial " + got + ": connection refused")
	}

	_, err := p.Get(context.Background(), dsn)
	if !errors.Is(err, errDatabaseUnreachable) {
		t.Fatalf("err = %v, want errDatabaseUnreachable", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the DSN: %v", err)
	}
	if _, err := p.Get(context.Background(), dsn); !errors.Is(err, errDatabaseUnreachable) || opens != 1 {
		t.Fatalf("within the retry period: opens = %d, err = %v; want 1 open and the remembered error", opens, err)
	}
	now = now.Add(p.retryAfter + time.Second)
	if _, err := p.Get(context.Background(), dsn); err == nil || opens != 2 {
		t.Fatalf("after the retry period: opens = %d, want 2", opens)
	}
}

func TestStorePoolSharesOneStorePerDSN(t *testing.T) {
	dsn := "sqlite:" + t.TempDir() + "/state.db"
	p := NewStorePool(5 * time.Second)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	a, err := p.Get(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(context.Background(), dsn)
	if err != nil || a != b {
		t.Fatalf("second Get returned a different store (%p, %p) or error %v", a, b, err)
	}
	sum, err := a.Summary(context.Background(), "nobody", 10)
	if err != nil || sum.PeerCount != 0 {
		t.Fatalf("summary on an empty store: %+v, %v", sum, err)
	}
}

func TestStorePoolOpensADSNOnceForConcurrentCallers(t *testing.T) {
	p := NewStorePool(time.Second)
	release := make(chan struct{})
	var opens atomic.Int32
	p.open = func(ctx context.Context, dsn string) (*store.Store, error) {
		opens.Add(1)
		<-release
		return nil, errors.New("refused")
	}
	const callers = 8
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		go func() {
			_, err := p.Get(context.Background(), "postgres://x")
			errs <- err
		}()
	}
	// Let the callers reach the pool while the single open is in flight.
	deadline := time.Now().Add(5 * time.Second)
	for opens.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	for i := 0; i < callers; i++ {
		if err := <-errs; !errors.Is(err, errDatabaseUnreachable) {
			t.Fatalf("caller %d: err = %v", i, err)
		}
	}
	if n := opens.Load(); n != 1 {
		t.Fatalf("opened %d times, want 1", n)
	}
}

// A caller waiting for another's open gives up when its own context ends,
// and the open still completes for the others.
func TestStorePoolWaiterHonoursItsContext(t *testing.T) {
	p := NewStorePool(5 * time.Second)
	release := make(chan struct{})
	started := make(chan struct{})
	p.open = func(ctx context.Context, dsn string) (*store.Store, error) {
		close(started)
		<-release
		return nil, errors.New("refused")
	}
	first := make(chan error, 1)
	go func() {
		_, err := p.Get(context.Background(), "postgres://x")
		first <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Get(ctx, "postgres://x"); !errors.Is(err, errDatabaseUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter: err = %v, want unreachable + deadline", err)
	}
	close(release)
	if err := <-first; !errors.Is(err, errDatabaseUnreachable) {
		t.Fatalf("opener: err = %v", err)
	}
}

func TestStorePoolClosesStoresLeftIdle(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewStorePool(5 * time.Second)
	p.now = func() time.Time { return now }
	t.Cleanup(func() { _ = p.Close() })
	ctx := context.Background()
	dir := t.TempDir()
	oldDSN, newDSN := "sqlite:"+dir+"/old.db", "sqlite:"+dir+"/new.db"

	old, err := p.Get(ctx, oldDSN)
	if err != nil {
		t.Fatal(err)
	}
	current, err := p.Get(ctx, newDSN)
	if err != nil {
		t.Fatal(err)
	}
	// The current DSN keeps being asked for (status refreshes); the old
	// one, rotated away, is not.
	for step := time.Duration(0); step <= p.idleTimeout; step += p.idleTimeout / 4 {
		now = now.Add(p.idleTimeout / 4)
		if got, err := p.Get(ctx, newDSN); err != nil || got != current {
			t.Fatalf("the store in use was replaced (%p, %p) or failed: %v", got, current, err)
		}
	}
	if _, err := old.Summary(ctx, "nobody", 1); err == nil {
		t.Fatal("the idle store is still open")
	}
	if _, err := current.Summary(ctx, "nobody", 1); err != nil {
		t.Fatalf("the store in use was closed: %v", err)
	}
	p.mu.Lock()
	n := len(p.stores)
	p.mu.Unlock()
	if n != 1 {
		t.Fatalf("pool holds %d stores, want 1", n)
	}
	reopened, err := p.Get(ctx, oldDSN)
	if err != nil || reopened == old {
		t.Fatalf("an evicted DSN is not reopened on demand: same store %v, err %v", reopened == old, err)
	}
}

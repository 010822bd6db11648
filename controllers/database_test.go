package controllers

import (
	"context"
	"errors"
	"strings"
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

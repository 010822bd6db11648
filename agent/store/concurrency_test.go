package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const racers = 50

// race runs fn in n goroutines released together, and returns their errors.
func race(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func firstErr(errs []error) error {
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("goroutine %d: %w", i, err)
		}
	}
	return nil
}

// increment is the engine's read-modify-CAS loop, bounded.
func increment(s *Store, k Key) (conflicts int, err error) {
	for attempt := 0; attempt < 10000; attempt++ {
		rs, err := s.Get(ctx, k)
		if err != nil {
			return conflicts, err
		}
		rs.ExchangeCount++
		if _, err = s.Update(ctx, rs); err == nil {
			return conflicts, nil
		}
		if !errors.Is(err, ErrConflict) {
			return conflicts, err
		}
		conflicts++
	}
	return conflicts, errors.New("no progress after 10000 attempts")
}

func TestRacingCASUpdatesOnOneRowNeverLoseAnUpdate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		if _, err := s.GetOrCreate(ctx, k, "init_ready"); err != nil {
			t.Fatal(err)
		}
		const perGoroutine = 4
		var conflicts atomic.Int64
		errs := race(racers, func(int) error {
			for n := 0; n < perGoroutine; n++ {
				c, err := increment(s, k)
				conflicts.Add(int64(c))
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if want := racers * perGoroutine; got.ExchangeCount != want || got.Version != int64(want+1) {
			t.Fatalf("exchange_count %d version %d; want %d and %d (lost updates)", got.ExchangeCount, got.Version, want, want+1)
		}
		t.Logf("%d updates, %d conflicts retried", racers*perGoroutine, conflicts.Load())
	})
}

func TestRacingRecordNonceOnceHasExactlyOneNew(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		for round := 0; round < 3; round++ {
			nonce := fmt.Sprintf("nonce-%d", round)
			var fresh atomic.Int32
			errs := race(racers, func(int) error {
				isNew, err := s.RecordNonceOnce(ctx, k, FlowReceived, nonce)
				if isNew {
					fresh.Add(1)
				}
				return err
			})
			if err := firstErr(errs); err != nil {
				t.Fatal(err)
			}
			if fresh.Load() != 1 {
				t.Fatalf("round %d: %d goroutines saw the nonce as new, want exactly 1", round, fresh.Load())
			}
		}
	})
}

func TestRacingGetOrCreateYieldsOneRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		rows := make([]RoleState, racers)
		errs := race(racers, func(i int) (err error) {
			rows[i], err = s.GetOrCreate(ctx, k, "resp_ready")
			return err
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		for i, rs := range rows {
			if !equalRoleState(rs, rows[0]) || rs.Version != 1 {
				t.Fatalf("goroutine %d got %+v, goroutine 0 got %+v", i, rs, rows[0])
			}
		}
	})
}

func TestRacingBumpCyclesCountsEveryCycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		if _, err := s.GetOrCreate(ctx, k, "init_ready"); err != nil {
			t.Fatal(err)
		}
		totals := make([]int64, racers)
		at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
		errs := race(racers, func(i int) (err error) {
			totals[i], err = s.BumpCycles(ctx, k, at.Add(time.Duration(i)*time.Second))
			return err
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, n := range totals {
			seen[n] = true
		}
		got, _ := s.Get(ctx, k)
		if got.Cycles != racers || len(seen) != racers {
			t.Fatalf("cycles %d with %d distinct returned totals; want %d of each", got.Cycles, len(seen), racers)
		}
		if want := at.Add((racers - 1) * time.Second); got.LastCycleAt == nil || !got.LastCycleAt.Equal(want) {
			t.Fatalf("last_cycle_at %v, want the latest bump %v", got.LastCycleAt, want)
		}
	})
}

// Several processes on one SQLite file (the demo runs agents side by side):
// each Store has its own writer connection, so they really contend for
// the file lock and must wait on busy_timeout instead of failing.
func TestSQLiteStoresSharingOneFileDoNotFailOnBusy(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	stores := make([]*Store, 3)
	for i := range stores {
		stores[i] = openTestStore(t, dsn, nil)
	}
	k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
	if _, err := stores[0].GetOrCreate(ctx, k, "init_ready"); err != nil {
		t.Fatal(err)
	}
	const perGoroutine = 3
	errs := race(30, func(i int) error {
		s := stores[i%len(stores)]
		for n := 0; n < perGoroutine; n++ {
			if _, err := increment(s, k); err != nil {
				return err
			}
			if _, err := s.RecordNonceOnce(ctx, k, FlowSent, fmt.Sprintf("n-%d-%d", i, n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err := firstErr(errs); err != nil {
		t.Fatal(err)
	}
	got, _ := stores[1].Get(ctx, k)
	if got.ExchangeCount != 30*perGoroutine {
		t.Fatalf("exchange_count %d, want %d", got.ExchangeCount, 30*perGoroutine)
	}
}

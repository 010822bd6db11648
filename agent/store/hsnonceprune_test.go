package store

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// seedNonces logs n nonces of selfID in flow, spread over peers, at the
// Store's clock time, in one transaction.
func seedNonces(t testing.TB, s *Store, selfID, flow, prefix string, n int, peers []string) {
	t.Helper()
	seedNoncesShuffled(t, s, selfID, flow, prefix, n, peers, 0)
}

// seedNoncesShuffled is seedNonces with created_at up to spread before the
// clock, in an order unrelated to the insert order: a scan in created_at
// order then meets the rows in another order than a scan of the heap.
func seedNoncesShuffled(t testing.TB, s *Store, selfID, flow, prefix string, n int, peers []string, spread time.Duration) {
	t.Helper()
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; i < n; i++ {
		peer := peers[i%len(peers)]
		at := s.timeArg(s.now().Add(-spread * time.Duration(i*7919%n) / time.Duration(n)))
		if _, err := tx.ExecContext(ctx, s.q.recordNonce, selfID, string(Initiator), peer, flow, fmt.Sprintf("%s-%d", prefix, i), at); err != nil {
			t.Fatalf("seed %s %s nonces: %v", selfID, flow, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// countPrefixed counts selfID's rows of flow whose nonce starts with prefix.
func countPrefixed(t testing.TB, s *Store, selfID, flow, prefix string) int {
	t.Helper()
	var n int
	q := s.w.Rebind(`SELECT count(*) FROM nonce_event WHERE self_id = ? AND flow = ? AND nonce LIKE ?`)
	if err := s.w.GetContext(ctx, &n, q, selfID, flow, prefix+"-%"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteOwnHSNoncesOlderThanPrunesOnlyThatAgentsOldHSRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		peers := []string{"p1", "p2", "p3"}
		const old = 2*hsPruneBatch + 7 // three batches
		seedNonces(t, s, "self", FlowHS, "old", old, peers)
		seedNonces(t, s, "self", FlowReceived, "old", 3, peers)
		seedNonces(t, s, "other", FlowHS, "old", 5, peers)
		clk.Advance(90 * time.Second)
		seedNonces(t, s, "self", FlowHS, "fresh", 4, peers)

		n, err := s.DeleteOwnHSNoncesOlderThan(ctx, "self", 70*time.Second)
		if err != nil || n != old {
			t.Fatalf("deleted %d, %v; want %d", n, err, old)
		}
		for _, c := range []struct {
			self, flow, prefix string
			want               int
		}{
			{"self", FlowHS, "old", 0},
			{"self", FlowHS, "fresh", 4},
			{"self", FlowReceived, "old", 3},
			{"other", FlowHS, "old", 5},
		} {
			if got := countPrefixed(t, s, c.self, c.flow, c.prefix); got != c.want {
				t.Errorf("after %s's prune: %s %s %s rows = %d, want %d", "self", c.self, c.flow, c.prefix, got, c.want)
			}
		}
		if n, err := s.DeleteOwnHSNoncesOlderThan(ctx, "self", 70*time.Second); err != nil || n != 0 {
			t.Errorf("second prune: deleted %d, %v; want 0", n, err)
		}
		if _, err := s.DeleteOwnHSNoncesOlderThan(ctx, "", time.Second); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty self ID: %v, want ErrInvalid", err)
		}
		if _, err := s.DeleteOwnHSNoncesOlderThan(ctx, "self", -time.Second); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative age: %v, want ErrInvalid", err)
		}
	})
}

// pruneFleet is N agents, each with its own Store (its own connections)
// on one PostgreSQL database, each with oldPerAgent hs rows older than
// the prune age and freshPerAgent newer ones, spread over all the others
// as peers. In a fleet the planner picks different scans for the same
// prune (its estimate follows the live index ends), and rows land in the
// heap out of created_at order; the fleet reproduces both: half the agents
// may only scan an index in its order, the others only the heap (bitmap
// scans), and old rows are inserted in shuffled created_at order.
type pruneFleet struct {
	ids    []string
	stores []*Store
	clk    *clock
}

const (
	pruneAgents   = 24
	oldPerAgent   = 300
	freshPerAgent = 20
	pruneAge      = 2 * time.Minute
)

func newPruneFleet(t *testing.T) *pruneFleet {
	dsn := pgtest.DSN(t)
	f := &pruneFleet{clk: newClock()}
	scans := []string{
		"&enable_seqscan=off&enable_bitmapscan=off", // index order
		"&enable_seqscan=off&enable_indexscan=off",  // heap order
	}
	for i := 0; i < pruneAgents; i++ {
		f.ids = append(f.ids, fmt.Sprintf("agent-%02d", i))
		f.stores = append(f.stores, openTestStore(t, dsn+scans[i/2%2], f.clk))
	}
	for i := pruneAgents - 1; i >= 0; i-- { // the heap's order is none of the indexes'
		seedNoncesShuffled(t, f.stores[i], f.ids[i], FlowHS, "old", oldPerAgent, f.ids, time.Minute)
	}
	f.clk.Advance(pruneAge + time.Minute)
	for i, s := range f.stores {
		seedNonces(t, s, f.ids[i], FlowHS, "fresh", freshPerAgent, f.ids)
	}
	return f
}

// Every agent running the fleet-wide prune at once over the same rows (the
// engine's call before issue 11) gets no error, no deadlock, and each old
// row is deleted exactly once.
func TestConcurrentFleetWideHSPrunesNeverDeadlock(t *testing.T) {
	f := newPruneFleet(t)
	var deleted atomic.Int64
	errs := race(pruneAgents, func(i int) error {
		for round := 0; round < 3; round++ {
			n, err := f.stores[i].DeleteHSNoncesOlderThan(ctx, pruneAge)
			if err != nil {
				return err
			}
			deleted.Add(n)
		}
		return nil
	})
	if err := firstErr(errs); err != nil {
		t.Fatalf("concurrent prunes: %v", err)
	}
	if got := deleted.Load(); got != pruneAgents*oldPerAgent {
		t.Errorf("deleted %d rows in all, want each of the %d old rows once", got, pruneAgents*oldPerAgent)
	}
	for i, id := range f.ids {
		if n := countPrefixed(t, f.stores[i], id, FlowHS, "old"); n != 0 {
			t.Errorf("%s keeps %d old hs rows", id, n)
		}
		if n := countPrefixed(t, f.stores[i], id, FlowHS, "fresh"); n != freshPerAgent {
			t.Errorf("%s has %d fresh hs rows, want %d", id, n, freshPerAgent)
		}
	}
}

// Half the fleet prunes its own rows, twice at once per agent (an old and
// a new pod during a rollout), while the other half logs new hs nonces:
// no errors, each pruning agent's old rows gone exactly once, everyone
// else's rows and all fresh rows untouched.
func TestConcurrentOwnHSPrunesNeverDeadlockAndTouchOnlyOwnRows(t *testing.T) {
	f := newPruneFleet(t)
	deleted := make([]atomic.Int64, pruneAgents)
	errs := race(2*pruneAgents, func(g int) error {
		i := g % pruneAgents
		s, self := f.stores[i], f.ids[i]
		if i%2 == 1 {
			for n := 0; n < 20; n++ {
				k := Key{SelfID: self, Role: Responder, PeerID: f.ids[(i+n)%pruneAgents]}
				if _, err := s.RecordNonceOnce(ctx, k, FlowHS, fmt.Sprintf("new-%d-%d", g, n)); err != nil {
					return err
				}
			}
			return nil
		}
		n, err := s.DeleteOwnHSNoncesOlderThan(ctx, self, pruneAge)
		deleted[i].Add(n)
		return err
	})
	if err := firstErr(errs); err != nil {
		t.Fatalf("concurrent prunes and writes: %v", err)
	}
	for i, id := range f.ids {
		wantOld, wantDeleted := 0, int64(oldPerAgent)
		if i%2 == 1 {
			wantOld, wantDeleted = oldPerAgent, 0
			if n := countPrefixed(t, f.stores[i], id, FlowHS, "new"); n != 40 {
				t.Errorf("%s logged %d new hs rows, want 40", id, n)
			}
		}
		if got := deleted[i].Load(); got != wantDeleted {
			t.Errorf("%s's prunes deleted %d rows, want %d", id, got, wantDeleted)
		}
		if n := countPrefixed(t, f.stores[i], id, FlowHS, "old"); n != wantOld {
			t.Errorf("%s keeps %d old hs rows, want %d", id, n, wantOld)
		}
		if n := countPrefixed(t, f.stores[i], id, FlowHS, "fresh"); n != freshPerAgent {
			t.Errorf("%s has %d fresh hs rows, want %d", id, n, freshPerAgent)
		}
	}
}

package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// ensureCountingStore is the real store, counting one agent's row
// creations; failEnsure makes its EnsureRoles fail.
type ensureCountingStore struct {
	*store.Store
	failEnsure            bool
	ensures, getOrCreates atomic.Int64
	ensuredPeers          atomic.Int64
}

func (s *ensureCountingStore) EnsureRoles(ctx context.Context, self string, peers []string, d store.RoleDefaults) (store.EnsuredRoles, error) {
	s.ensures.Add(1)
	s.ensuredPeers.Store(int64(len(peers)))
	if s.failEnsure {
		return store.EnsuredRoles{}, errors.New("ensure refused by the test")
	}
	return s.Store.EnsureRoles(ctx, self, peers, d)
}

func (s *ensureCountingStore) GetOrCreate(ctx context.Context, k store.Key, def string) (store.RoleState, error) {
	s.getOrCreates.Add(1)
	return s.Store.GetOrCreate(ctx, k, def)
}

// ensureFleet is a fleet-mode fleet whose agents each count their store
// calls through their own ensureCountingStore.
func ensureFleet(t *testing.T, failEnsure bool) (*fleet, func() []*ensureCountingStore) {
	var mu sync.Mutex
	var stores []*ensureCountingStore
	f := newFleet(t, fleetOptions{stateTimeout: 2 * time.Second, wrapStore: func(st *store.Store) Store {
		cs := &ensureCountingStore{Store: st, failEnsure: failEnsure}
		mu.Lock()
		stores = append(stores, cs)
		mu.Unlock()
		return cs
	}})
	return f, func() []*ensureCountingStore {
		mu.Lock()
		defer mu.Unlock()
		return append([]*ensureCountingStore(nil), stores...)
	}
}

// A fleet-mode start creates the rows of every bundle peer in one
// EnsureRoles, and every conversation's first load takes its row from it:
// no GetOrCreate at all, also after a restart (existing rows returned).
func TestFleetStartEnsuresRowsOnceAndLoadsNoRow(t *testing.T) {
	const n = 4
	f, stores := ensureFleet(t, false)
	ids := f.newIdentities(n)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 2, 30*time.Second)

	agents[0].stop()
	base := f.snapshot()
	f.start(ids[0], f.policy())
	f.waitPairs(ids, base, 1, 30*time.Second)

	for i, cs := range stores() {
		if got := cs.ensures.Load(); got != 1 {
			t.Errorf("agent start %d: %d EnsureRoles calls, want 1", i, got)
		}
		if got := cs.ensuredPeers.Load(); got != n-1 {
			t.Errorf("agent start %d: EnsureRoles for %d peers, want %d", i, got, n-1)
		}
		if got := cs.getOrCreates.Load(); got != 0 {
			t.Errorf("agent start %d: %d GetOrCreate calls, want 0 (rows come from EnsureRoles)", i, got)
		}
	}
	rows, err := f.st.List(context.Background(), ids[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*(n-1) {
		t.Fatalf("agent 1 has %d rows, want %d", len(rows), 2*(n-1))
	}
}

// A failed EnsureRoles is logged once and counted; the conversations then
// create their rows themselves and the fleet cycles as before.
func TestFleetEnsureRolesFailureFallsBackToGetOrCreate(t *testing.T) {
	const n = 3
	f, stores := ensureFleet(t, true)
	ids := f.newIdentities(n)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 1, 30*time.Second)

	for i, cs := range stores() {
		if got := cs.ensures.Load(); got != 1 {
			t.Errorf("agent %d: %d EnsureRoles calls, want 1", i, got)
		}
		// Every conversation (2 roles x n-1 peers) loaded its own row.
		if got := cs.getOrCreates.Load(); got < 2*(n-1) {
			t.Errorf("agent %d: %d GetOrCreate calls, want >= %d", i, got, 2*(n-1))
		}
	}
	for i, a := range agents {
		if got := metricValue(a.eng.Metrics().StoreErrors.WithLabelValues("ensure_roles")); got != 1 {
			t.Errorf("agent %d: store_errors_total{op=ensure_roles} = %v, want 1", i, got)
		}
		if got := a.logs.count("rows not created at start; each conversation creates its own"); got != 1 {
			t.Errorf("agent %d: fallback logged %d times, want 1", i, got)
		}
	}
}

package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// statusHub keeps database-derived status apart from reconciliation. Every
// StatusInterval it reads the aggregates of all tracked agents with one
// query per database (statushub_poll.go), keeps the latest view per agent,
// and sends an event for an agent only when its view changed meaningfully,
// or when only counters moved, CounterInterval has passed since its last
// event and the fleet-wide counter budget (StatusCounterRate per second)
// allows it. Reconciles then copy the view into status without touching the
// database. Polls run on DatabaseWorkers goroutines with a deadline, so a
// slow or dead database never holds a reconcile worker.
type statusHub struct {
	cfg    Config
	stores *StorePool
	dsns   *dsnCache
	events chan event.TypedGenericEvent[statusEvent]
	now    func() time.Time

	workers chan struct{} // semaphore: polls running at once
	// counterBudget rate-limits counter-only events; a refused one is
	// retried at the next poll (the view still differs).
	counterBudget flowcontrol.RateLimiter

	mu      sync.Mutex
	agents  map[types.NamespacedName]*trackedAgent
	polling map[[32]byte]bool // databases with a poll in flight
	// caches hold each database's aggregates so a poll reads only what
	// changed; one poll per database at a time uses its cache.
	caches map[[32]byte]*fleetCache
	// departed are deleted agents hidden from their peers' status;
	// retained lists identities kept by Retain (statushub_departed.go).
	departed departedIDs
	retained func(context.Context) ([]string, error)
}

// trackedAgent is what the hub knows about one HSAgent.
type trackedAgent struct {
	key        types.NamespacedName
	agentID    string
	secret     databaseRef
	staleAfter time.Duration

	view         *agentView // latest poll result; nil before the first
	notified     *agentView // the view last sent to the controller
	lastNotified time.Time
}

func newStatusHub(cfg Config, stores *StorePool, dsns *dsnCache) *statusHub {
	return &statusHub{
		cfg:     cfg,
		stores:  stores,
		dsns:    dsns,
		events:  make(chan event.TypedGenericEvent[statusEvent], 1024),
		now:     time.Now,
		workers: make(chan struct{}, cfg.DatabaseWorkers),
		counterBudget: flowcontrol.NewTokenBucketRateLimiter(float32(cfg.StatusCounterRate),
			max(1, int(cfg.StatusCounterRate))),
		agents:  map[types.NamespacedName]*trackedAgent{},
		polling: map[[32]byte]bool{},
		caches:  map[[32]byte]*fleetCache{},
	}
}

// Track registers (or updates) an agent for polling and returns its latest
// view, nil until the first poll of its database.
func (h *statusHub) Track(key types.NamespacedName, agentID string, secret databaseRef, staleAfter time.Duration) *agentView {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.agents[key]
	if !ok || t.agentID != agentID || t.secret != secret {
		// A new identity or another database: the old view is not this
		// agent's any more.
		t = &trackedAgent{key: key}
		h.agents[key] = t
	}
	t.agentID, t.secret, t.staleAfter = agentID, secret, staleAfter
	return t.view
}

// Untrack forgets a deleted agent.
func (h *statusHub) Untrack(key types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.agents, key)
}

// Start runs the poll loop until ctx ends (a manager Runnable). Only the
// leader polls: NeedLeaderElection is true.
func (h *statusHub) Start(ctx context.Context) error {
	t := time.NewTicker(h.cfg.StatusInterval)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.pollAll(ctx, &wg)
		}
	}
}

// NeedLeaderElection makes the hub run on the leader only.
func (h *statusHub) NeedLeaderElection() bool { return true }

// notify enqueues a reconcile of key at the change's priority; it waits for
// room rather than drop an event, since the controller drains the channel
// into its work queue at once.
func (h *statusHub) notify(ctx context.Context, key types.NamespacedName, c statusChange) {
	select {
	case h.events <- event.TypedGenericEvent[statusEvent]{Object: statusEvent{key: key, change: c}}:
	case <-ctx.Done():
		log.FromContext(ctx).V(1).Info("status event dropped at shutdown", "agent", key.String())
	}
}

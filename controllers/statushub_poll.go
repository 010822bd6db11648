package controllers

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// pollTarget is one tracked agent, copied out of the hub for one poll.
type pollTarget struct {
	key        types.NamespacedName
	agentID    string
	staleAfter time.Duration
}

// pollAll resolves each database Secret once and starts one poll per
// database (DSN) that has none in flight.
func (h *statusHub) pollAll(ctx context.Context, wg *sync.WaitGroup) {
	bySecret := map[secretKey][]pollTarget{}
	h.mu.Lock()
	for _, t := range h.agents {
		sk := secretKey{NamespacedName: types.NamespacedName{Namespace: t.key.Namespace, Name: t.secret.Name}, key: t.secret.Key}
		bySecret[sk] = append(bySecret[sk], pollTarget{key: t.key, agentID: t.agentID, staleAfter: t.staleAfter})
	}
	h.mu.Unlock()

	byDSN := map[[32]byte][]pollTarget{}
	dsnOf := map[[32]byte]string{}
	for sk, targets := range bySecret {
		rctx, cancel := context.WithTimeout(ctx, h.cfg.DatabaseTimeout)
		dsn, changed, err := h.dsns.resolveChanged(rctx, sk.Namespace, databaseRef{Name: sk.Name, Key: sk.key})
		cancel()
		if changed {
			// The agents' pods were started with other content: reconcile
			// them now so the pod template's hash rolls them.
			for _, t := range targets {
				statusEvents.WithLabelValues("secret").Inc()
				h.notify(ctx, t.key, changeUrgent)
			}
		}
		if err != nil {
			h.recordAll(ctx, targets, troubleView("open", err, h.now()))
			continue
		}
		k := sha256.Sum256([]byte(dsn))
		byDSN[k] = append(byDSN[k], targets...)
		dsnOf[k] = dsn
	}
	hidden := h.hiddenPeers(ctx)
	h.mu.Lock()
	for k := range h.caches {
		if _, ok := byDSN[k]; !ok && !h.polling[k] {
			delete(h.caches, k) // no agent uses this database any more
		}
	}
	h.mu.Unlock()
	for k, targets := range byDSN {
		h.mu.Lock()
		busy := h.polling[k]
		h.polling[k] = true
		cache := h.caches[k]
		if cache == nil {
			cache = newFleetCache()
			h.caches[k] = cache
		}
		h.mu.Unlock()
		if busy {
			statusPolls.WithLabelValues("skipped_busy").Inc()
			continue
		}
		wg.Add(1)
		go func(k [32]byte, dsn string, targets []pollTarget, cache *fleetCache) {
			defer wg.Done()
			defer func() {
				h.mu.Lock()
				delete(h.polling, k)
				h.mu.Unlock()
			}()
			h.pollDatabase(ctx, dsn, targets, cache, hidden)
		}(k, dsnOf[k], targets, cache)
	}
}

// pollDatabase runs one fleet statement for every agent on a database
// (through its cache: only changed rows), on a bounded worker, within the
// poll deadline. Peers in hidden are departed agents (statushub_departed.go).
func (h *statusHub) pollDatabase(ctx context.Context, dsn string, targets []pollTarget, cache *fleetCache, hidden map[string]bool) {
	select {
	case h.workers <- struct{}{}:
		defer func() { <-h.workers }()
	case <-ctx.Done():
		return
	}
	pctx, cancel := context.WithTimeout(ctx, h.cfg.pollTimeout())
	defer cancel()
	start := h.now()
	st, err := h.stores.Get(pctx, dsn)
	if err != nil {
		statusPolls.WithLabelValues("open_failed").Inc()
		h.recordAll(ctx, targets, troubleView("open", err, start))
		return
	}
	queries := make([]store.FleetQuery, len(targets))
	for i, t := range targets {
		queries[i] = store.FleetQuery{SelfID: t.agentID, StaleBefore: start.Add(-t.staleAfter)}
	}
	sums, err := cache.Poll(pctx, st, queries, hsv1.StatusPeerSample, start, hidden)
	statusPollSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		statusPolls.WithLabelValues("query_failed").Inc()
		databaseErrors.WithLabelValues("summary").Inc()
		log.FromContext(ctx).Info("fleet status query failed", "agents", len(targets), "error", redactDSN(err.Error(), dsn))
		h.recordAll(ctx, targets, troubleView("summary", fmt.Errorf("%w: %s", errDatabaseQuery, redactDSN(err.Error(), dsn)), start))
		return
	}
	statusPolls.WithLabelValues("ok").Inc()
	for _, t := range targets {
		sum, ok := sums[t.agentID]
		if !ok {
			sum = store.FleetAgentSummary{SelfID: t.agentID}
		}
		h.record(ctx, t, &agentView{sum: sum, staleAfter: t.staleAfter, polledAt: start, handshakeWindow: h.cfg.HandshakeWindow})
	}
}

func (h *statusHub) recordAll(ctx context.Context, targets []pollTarget, v *agentView) {
	for _, t := range targets {
		h.record(ctx, t, v)
	}
}

// record stores a poll result and enqueues the agent when the view differs
// from the one last sent meaningfully (at a priority by what changed), or in
// counters only and the counter cadence has passed.
func (h *statusHub) record(ctx context.Context, t pollTarget, v *agentView) {
	h.mu.Lock()
	ta, ok := h.agents[t.key]
	if !ok || ta.agentID != t.agentID {
		h.mu.Unlock()
		return // deleted or re-identified meanwhile
	}
	ta.view = v
	now := h.now()
	c := changeUrgent
	if ta.notified != nil {
		c = v.changeFrom(ta.notified)
	}
	if c == changeCounters && (now.Sub(ta.lastNotified) < h.cfg.StatusCounterInterval || !h.counterBudget.TryAccept()) {
		c = changeNone
	}
	if c != changeNone {
		ta.notified, ta.lastNotified = v, now
	}
	h.mu.Unlock()
	if c != changeNone {
		statusEvents.WithLabelValues(c.String()).Inc()
		h.notify(ctx, t.key, c)
	}
}

// troubleView is the view of agents whose database could not be read.
func troubleView(op string, err error, at time.Time) *agentView {
	if !errors.Is(err, errDatabaseUnreachable) && !errors.Is(err, errDatabaseQuery) &&
		!errors.Is(err, errDatabaseSecretMissing) && !errors.Is(err, errDatabaseSecretInvalid) &&
		!errors.Is(err, errDatabaseDSNUnsupported) {
		err = fmt.Errorf("%w: %w", errDatabaseUnreachable, err)
	}
	return &agentView{op: op, err: err, polledAt: at}
}

package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/hsfleet/hsfleet/agent/store"
)

// The hub enqueues an agent for a meaningful change at once, for counters
// only once per counter interval, and never when nothing changed.
func TestStatusHubEnqueuesOnChangeAndCountersAtTheirCadence(t *testing.T) {
	cfg := Config{StatusCounterInterval: time.Minute}.withDefaults()
	h := newStatusHub(cfg, nil, nil)
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	key := types.NamespacedName{Namespace: "fleet", Name: "alice"}
	if v := h.Track(key, "id-a", databaseRef{Name: "db", Key: "dsn"}, time.Minute); v != nil {
		t.Fatalf("view before the first poll: %+v", v)
	}
	target := pollTarget{key: key, agentID: "id-a", staleAfter: time.Minute}
	view := func(peers int, cycles int64) *agentView {
		return &agentView{sum: store.FleetAgentSummary{SelfID: "id-a", PeerCount: peers, Cycles: cycles}, polledAt: now,
			staleAfter: time.Minute, handshakeWindow: 5 * time.Minute}
	}
	// events drains the channel; last is the change of the last event.
	var last statusChange
	events := func() int {
		n := 0
		for {
			select {
			case e := <-h.events:
				if e.Object.key != key {
					t.Fatalf("event for %v", e.Object.key)
				}
				n, last = n+1, e.Object.change
			default:
				return n
			}
		}
	}
	ctx := context.Background()
	steps := []struct {
		name    string
		advance time.Duration
		v       *agentView
		want    int
		change  statusChange
	}{
		{"first poll", 0, view(2, 10), 1, changeUrgent},
		{"nothing changed", 15 * time.Second, view(2, 10), 0, 0},
		{"counters moved, not due", 15 * time.Second, view(2, 11), 0, 0},
		{"counters still pending, not due", 15 * time.Second, view(2, 11), 0, 0},
		{"counters due", 20 * time.Second, view(2, 12), 1, changeCounters},
		{"a new peer at once", 1 * time.Second, view(3, 12), 1, changeUrgent},
		{"database trouble at once", 1 * time.Second, troubleView("open", errDatabaseUnreachable, now), 1, changeUrgent},
		{"the same trouble again", 15 * time.Second, troubleView("open", errDatabaseUnreachable, now), 0, 0},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		h.record(ctx, target, s.v)
		if got := events(); got != s.want {
			t.Fatalf("%s: %d events, want %d", s.name, got, s.want)
		}
		if s.want > 0 && last != s.change {
			t.Fatalf("%s: change %v, want %v", s.name, last, s.change)
		}
	}
	if v := h.Track(key, "id-a", databaseRef{Name: "db", Key: "dsn"}, time.Minute); v == nil || v.err == nil {
		t.Fatalf("Track returns the latest view, got %+v", v)
	}
	// A result for an agent that was re-identified meanwhile is dropped.
	h.Track(key, "id-b", databaseRef{Name: "db", Key: "dsn"}, time.Minute)
	h.record(ctx, target, view(9, 9))
	if got := events(); got != 0 {
		t.Fatalf("stale result enqueued %d events", got)
	}
	h.Untrack(key)
	h.record(ctx, pollTarget{key: key, agentID: "id-b"}, view(1, 1))
	if got := events(); got != 0 {
		t.Fatalf("untracked agent enqueued %d events", got)
	}
}

// In controller-runtime's priority queue (the controller's default), a new
// peer is reconciled before stale-peer flips and counter refreshes that
// were enqueued first.
func TestStatusEventsAreQueuedByPriority(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("status-test")
	defer q.ShutDown()
	h := statusEventHandler()
	ctx := context.Background()
	for i, c := range []statusChange{changeCounters, changeDetail, changeCounters, changeUrgent} {
		key := types.NamespacedName{Namespace: "fleet", Name: fmt.Sprintf("agent-%d-%s", i, c)}
		h.Generic(ctx, event.TypedGenericEvent[statusEvent]{Object: statusEvent{key: key, change: c}}, q)
	}
	var got []string
	for range 4 {
		req, _ := q.Get()
		got = append(got, req.Name)
		q.Done(req)
	}
	want := []string{"agent-3-peers", "agent-1-changed", "agent-0-counters", "agent-2-counters"}
	if !slices.Equal(got, want) {
		t.Fatalf("reconcile order %v, want %v", got, want)
	}
}

package controllers

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

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
	if v := h.Track(key, "id-a", "db", time.Minute); v != nil {
		t.Fatalf("view before the first poll: %+v", v)
	}
	target := pollTarget{key: key, agentID: "id-a", staleAfter: time.Minute}
	view := func(peers int, cycles int64) *agentView {
		return &agentView{sum: store.FleetAgentSummary{SelfID: "id-a", PeerCount: peers, Cycles: cycles}, polledAt: now,
			staleAfter: time.Minute, handshakeWindow: 5 * time.Minute}
	}
	events := func() int {
		n := 0
		for {
			select {
			case <-h.events:
				n++
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
	}{
		{"first poll", 0, view(2, 10), 1},
		{"nothing changed", 15 * time.Second, view(2, 10), 0},
		{"counters moved, not due", 15 * time.Second, view(2, 11), 0},
		{"counters still pending, not due", 15 * time.Second, view(2, 11), 0},
		{"counters due", 20 * time.Second, view(2, 12), 1},
		{"a new peer at once", 1 * time.Second, view(3, 12), 1},
		{"database trouble at once", 1 * time.Second, troubleView("open", errDatabaseUnreachable, now), 1},
		{"the same trouble again", 15 * time.Second, troubleView("open", errDatabaseUnreachable, now), 0},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		h.record(ctx, target, s.v)
		if got := events(); got != s.want {
			t.Fatalf("%s: %d events, want %d", s.name, got, s.want)
		}
	}
	if v := h.Track(key, "id-a", "db", time.Minute); v == nil || v.err == nil {
		t.Fatalf("Track returns the latest view, got %+v", v)
	}
	// A result for an agent that was re-identified meanwhile is dropped.
	h.Track(key, "id-b", "db", time.Minute)
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

package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// A start queued for a cycle slot leaves the queue after one state
// timeout (issue 12 item 5); a slot handed over meanwhile is kept so the
// runner gives it back.
func TestQueuedStartExpiresAfterOneStateTimeout(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: chanTransport{},
		MaxActiveCycles: 1, StateTimeout: 3 * time.Second, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	holder, waiter := newConv(e, protocol.Responder, "holder"), newConv(e, protocol.Responder, "invented")
	waiter.Row.State = protocol.StateRespReady
	if !e.slots.acquire(holder) || e.slots.acquire(waiter) {
		t.Fatal("want the first to hold the only slot and the second queued")
	}
	waiter.queued, waiter.queuedAt, waiter.pending = true, t0, &protocol.Msg{Intent: protocol.IntentRegister}
	before := metricValue(e.m.Ignored.WithLabelValues(string(protocol.ReasonSlotWaitExpired)))

	waiter.expireQueue(t0.Add(2 * time.Second))
	if !waiter.queued || len(e.slots.waiters) != 1 {
		t.Fatal("expired before the state timeout")
	}
	waiter.expireQueue(t0.Add(3 * time.Second))
	if waiter.queued || waiter.pending != nil || len(e.slots.waiters) != 0 || waiter.holdsSlot {
		t.Fatalf("still queued: queued %v pending %v waiters %d", waiter.queued, waiter.pending, len(e.slots.waiters))
	}
	if got := metricValue(e.m.Ignored.WithLabelValues(string(protocol.ReasonSlotWaitExpired))) - before; got != 1 {
		t.Fatalf("expiry counted %v times", got)
	}

	// The slot passed to the waiter just before it expired: it keeps it.
	if e.slots.acquire(waiter) {
		t.Fatal("queued again: want no free slot")
	}
	waiter.queued, waiter.queuedAt = true, t0
	e.slots.release(holder) // holder's slot goes to waiter's wake channel
	waiter.expireQueue(t0.Add(time.Minute))
	if !waiter.holdsSlot {
		t.Fatal("a slot handed over was lost")
	}
	waiter.syncSlot() // resp_ready: given back
	if e.slots.used != 0 {
		t.Fatalf("%d slots used after the give-back", e.slots.used)
	}
}

package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// slotOrderEngine is a responder engine with one cycle slot on real
// PostgreSQL; loaded conversations read their cycled flag from the rows.
func slotOrderEngine(t *testing.T) (*Engine, func(peer string, cycles int) *conv) {
	return slotEngine(t, 1)
}

func slotEngine(t *testing.T, slots int) (*Engine, func(peer string, cycles int) *conv) {
	t.Helper()
	ctx := context.Background()
	st := pgStore(t)
	e, err := New(Config{Identity: mustIdentity(t, "r"), Store: st, Transport: chanTransport{},
		MaxActiveCycles: slots, StateTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	load := func(peer string, cycles int) *conv {
		k := store.Key{SelfID: e.ID(), Role: store.Responder, PeerID: peer}
		if _, err := st.GetOrCreate(ctx, k, string(protocol.StateRespReady)); err != nil {
			t.Fatal(err)
		}
		for range cycles {
			if _, err := st.BumpCycles(ctx, k, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		c := newConv(e, protocol.Responder, peer)
		if !c.load(ctx) {
			t.Fatalf("load %s", peer)
		}
		return c
	}
	return e, load
}

// woken releases the held slot once per expected waiter and returns the
// peers in the order the slot reached them.
func wokenOrder(t *testing.T, s *cycleSlots, holder *conv, queued []*conv) []string {
	t.Helper()
	var order []string
	for range queued {
		s.release(holder)
		var got *conv
		for _, c := range queued {
			select {
			case <-c.wake:
				if got != nil {
					t.Fatalf("one release woke %s and %s", got.key.PeerID, c.key.PeerID)
				}
				got = c
			default:
			}
		}
		if got == nil {
			t.Fatalf("release woke nobody after %v", order)
		}
		order = append(order, got.key.PeerID)
		holder = got
	}
	return order
}

// Pairs that never completed a cycle (per their row's count) get released
// slots before pairs that have, in the order they queued; the cycled ones
// follow in theirs.
func TestReleasedSlotsGoToNeverCycledPairsFirst(t *testing.T) {
	e, load := slotOrderEngine(t)
	holder := load("holder", 0)
	if !e.slots.acquire(holder) {
		t.Fatal("the only slot was not free")
	}
	queued := []*conv{load("cycled-1", 3), load("fresh-1", 0), load("cycled-2", 1), load("fresh-2", 0)}
	for _, c := range queued {
		if e.slots.acquire(c) {
			t.Fatalf("%s got a slot past the limit", c.key.PeerID)
		}
	}
	got := fmt.Sprint(wokenOrder(t, e.slots, holder, queued))
	if want := "[fresh-1 fresh-2 cycled-1 cycled-2]"; got != want {
		t.Fatalf("slots went to %s, want %s", got, want)
	}
}

// A cycle completed in this process makes the pair cycled on both sides
// (real relay and PostgreSQL), like a row count does.
func TestCompletedCycleMakesThePairCycled(t *testing.T) {
	f := newFleet(t, fleetOptions{})
	ids := f.newIdentities(2)
	a, b := f.start(ids[0], f.policy()), f.start(ids[1], f.policy())
	f.waitPairs(ids, nil, 1, 20*time.Second)
	for _, x := range []struct {
		eng  *Engine
		role protocol.Role
		peer string
	}{{a.eng, protocol.Initiator, ids[1].ID}, {b.eng, protocol.Responder, ids[0].ID}} {
		x.eng.mu.Lock()
		c := x.eng.convs[convKey{x.role, x.peer}]
		x.eng.mu.Unlock()
		if c == nil || !c.cycled.Load() {
			t.Fatalf("%s conversation after a completed cycle: %v, want cycled", x.role, c)
		}
	}
}

// Fresh pairs that keep arriving pass a waiting cycled pair at most
// maxPassOver times in a row: then it is served.
func TestCycledPairIsPassedOverAtMostMaxPassOverTimes(t *testing.T) {
	e, load := slotOrderEngine(t)
	holder := load("holder", 0)
	e.slots.acquire(holder)
	cycled := load("cycled", 2)
	e.slots.acquire(cycled)
	var queued []*conv
	for i := range maxPassOver + 1 {
		c := load(fmt.Sprintf("fresh-%02d", i), 0)
		e.slots.acquire(c)
		queued = append(queued, c)
	}
	order := wokenOrder(t, e.slots, holder, append([]*conv{cycled}, queued...))
	pos := -1
	for i, p := range order {
		if p == "cycled" {
			pos = i
		}
	}
	if pos != maxPassOver {
		t.Fatalf("the cycled pair was served %d-th of %v; want after exactly %d fresh pairs", pos+1, order, maxPassOver)
	}
}

// A raised limit hands its new slots to the queue at once instead of to
// whichever start comes next.
func TestRaisedSlotLimitServesTheQueue(t *testing.T) {
	e, load := slotOrderEngine(t)
	holder, waiter := load("holder", 0), load("waiter", 0)
	e.slots.acquire(holder)
	if e.slots.acquire(waiter) {
		t.Fatal("waiter got a slot past the limit")
	}
	e.slots.max = 2 // as if configured with 2 and cut to 1
	e.slots.adapt(time.Millisecond, e.cfg.StateTimeout, time.Now())
	select {
	case <-waiter.wake:
	default:
		t.Fatalf("the raised limit (%d) left the waiter queued", e.slots.Limit())
	}
}

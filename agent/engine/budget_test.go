package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// The bucket holds its capacity, refills it over one state timeout, and
// the live places bound stranger conversations whatever the tokens say.
func TestSenderBudgetBucketAndLivePlaces(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newSenderBudget(Config{MaxActiveCycles: 4, MaxPeers: 16, StateTimeout: 4 * time.Second}, false)
	for i := range 4 {
		if !b.admit(t0) {
			t.Fatalf("start %d refused within the capacity 4", i)
		}
	}
	if b.admit(t0) {
		t.Fatal("a fifth start at once was admitted")
	}
	if !b.admit(t0.Add(time.Second)) { // 4 per 4 s: one token per second
		t.Fatal("no token after a quarter of the state timeout")
	}
	if b.admit(t0.Add(time.Second)) {
		t.Fatal("two tokens after a quarter of the state timeout")
	}
	// Live places: MaxPeers/2 = 8; 5 are taken.
	for i := range 3 {
		if !b.admit(t0.Add(time.Duration(2+i) * time.Second)) {
			t.Fatalf("start %d refused with places left", i)
		}
	}
	if b.admit(t0.Add(time.Hour)) || b.Strangers() != 8 {
		t.Fatalf("admitted past the live bound (%d strangers)", b.Strangers())
	}
	b.done()
	if !b.admit(t0.Add(time.Hour)) {
		t.Fatal("a freed place was not reused")
	}
}

// Known peers are never charged; fleet mode charges nobody; the known set
// is bounded by MaxPeers.
func TestSenderBudgetKnownPeers(t *testing.T) {
	b := newSenderBudget(Config{MaxActiveCycles: 1, MaxPeers: 2, StateTimeout: time.Second}, false)
	if b.isKnown("a") {
		t.Fatal("a peer with no cycle is known")
	}
	b.markKnown("a")
	b.markKnown("b")
	b.markKnown("c") // past MaxPeers: stays a stranger
	if !b.isKnown("a") || !b.isKnown("b") || b.isKnown("c") {
		t.Fatalf("known a=%v b=%v c=%v, want true true false", b.isKnown("a"), b.isKnown("b"), b.isKnown("c"))
	}
	if f := newSenderBudget(Config{MaxPeers: 2, StateTimeout: time.Second}, true); !f.isKnown("anyone") {
		t.Fatal("fleet mode charged a sender (Policy.Admit already filters)")
	}
}

// Strangers hold at most half the responder slots and are never queued;
// a known peer still gets the slot a stranger could not.
func TestCycleSlotsStrangersShare(t *testing.T) {
	s := &cycleSlots{limit: 4}
	conv := func(stranger bool) *conv {
		c := &conv{wake: make(chan struct{}, 1)}
		c.stranger.Store(stranger)
		return c
	}
	s1, s2, s3, known := conv(true), conv(true), conv(true), conv(false)
	if !s.acquire(s1) || !s.acquire(s2) {
		t.Fatal("strangers refused within their share (2 of 4)")
	}
	if s.acquire(s3) || len(s.waiters) != 0 {
		t.Fatalf("a third stranger got a slot or was queued (%d waiters)", len(s.waiters))
	}
	if !s.acquire(known) {
		t.Fatal("a known peer was refused a free slot")
	}
	s.release(s1)
	if s.strangers != 1 || s.used != 2 {
		t.Fatalf("after a stranger's release: %d strangers, %d used; want 1, 2", s.strangers, s.used)
	}
	if !s.acquire(s3) {
		t.Fatal("the freed stranger slot was not granted")
	}
}

// A restarted agent reads its peers with a counted cycle back as known, so
// its own fleet is not charged to the sender budget.
func TestSeedKnownFromStoredCycles(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: chanTransport{},
		Policy: trust.NewPolicy(trust.Open, nil), StateTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []string{"old-peer", "never-cycled"} {
		if _, err := st.GetOrCreate(ctx, store.Key{SelfID: e.ID(), Role: store.Responder, PeerID: p}, string(protocol.StateRespReady)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.BumpCycles(ctx, store.Key{SelfID: e.ID(), Role: store.Responder, PeerID: "old-peer"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.seedKnown()
	if !e.budget.isKnown("old-peer") || e.budget.isKnown("never-cycled") {
		t.Fatalf("known: old-peer %v, never-cycled %v; want true, false",
			e.budget.isKnown("old-peer"), e.budget.isKnown("never-cycled"))
	}
}

package engine

import (
	"testing"
	"time"
)

func TestCycleSlotsHandReleasedSlotsToWaitersInOrder(t *testing.T) {
	s := &cycleSlots{limit: 1}
	a, b, c := &conv{wake: make(chan struct{}, 1)}, &conv{wake: make(chan struct{}, 1)}, &conv{wake: make(chan struct{}, 1)}
	if !s.acquire(a) {
		t.Fatal("first acquire must succeed")
	}
	if s.acquire(b) || s.acquire(c) || s.acquire(b) {
		t.Fatal("acquire past the limit must queue")
	}
	if len(s.waiters) != 2 {
		t.Fatalf("%d waiters, want 2 (b queued once)", len(s.waiters))
	}
	s.release(a) // a's slot goes to b
	select {
	case <-b.wake:
	default:
		t.Fatal("b not woken first")
	}
	if len(c.wake) != 0 || s.used != 1 {
		t.Fatalf("c woken early or slot count %d", s.used)
	}
	s.forget(c)
	s.release(b) // b's slot: nobody waits
	if s.used != 0 || len(c.wake) != 0 {
		t.Fatalf("used %d after the last release, c woken %d", s.used, len(c.wake))
	}
}

func TestCycleSlotsHalveOnSlowCyclesOncePerCooldownAndGrowBackOnFastOnes(t *testing.T) {
	const timeout = 10 * time.Second
	s := &cycleSlots{limit: 8}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.adapt(5*time.Second, timeout, t0)
	s.adapt(-1, timeout, t0.Add(time.Second)) // same burst: no second cut
	if got := s.Limit(); got != 4 {
		t.Fatalf("limit %d after one slow burst, want 4", got)
	}
	s.adapt(-1, timeout, t0.Add(3*time.Second))
	s.adapt(-1, timeout, t0.Add(6*time.Second))
	s.adapt(-1, timeout, t0.Add(9*time.Second))
	if got := s.Limit(); got != 1 {
		t.Fatalf("limit %d after repeated timeouts, want the floor 1", got)
	}
	for i := 0; i < 20; i++ {
		s.adapt(100*time.Millisecond, timeout, t0.Add(10*time.Second))
	}
	if got := s.Limit(); got != 8 {
		t.Fatalf("limit %d after fast cycles, want back to the configured 8", got)
	}
	// A lowered limit keeps a released slot from passing to a waiter.
	s = &cycleSlots{limit: 2}
	a, b, c := &conv{wake: make(chan struct{}, 1)}, &conv{wake: make(chan struct{}, 1)}, &conv{wake: make(chan struct{}, 1)}
	s.acquire(a)
	s.acquire(b)
	s.acquire(c) // queued
	s.adapt(-1, timeout, t0)
	s.release(a)
	if len(c.wake) != 0 || s.used != 1 {
		t.Fatalf("slot handed over past the lowered limit (used %d)", s.used)
	}
	s.release(b)
	if len(c.wake) != 1 {
		t.Fatal("waiter not woken once under the limit")
	}
}

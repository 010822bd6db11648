package engine

import "testing"

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
	s.release() // a's slot goes to b
	select {
	case <-b.wake:
	default:
		t.Fatal("b not woken first")
	}
	if len(c.wake) != 0 || s.used != 1 {
		t.Fatalf("c woken early or slot count %d", s.used)
	}
	s.forget(c)
	s.release() // b's slot: nobody waits
	if s.used != 0 || len(c.wake) != 0 {
		t.Fatalf("used %d after the last release, c woken %d", s.used, len(c.wake))
	}
}

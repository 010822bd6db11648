package engine

import (
	"testing"
	"time"
)

func TestStartGateBoundsStarts(t *testing.T) {
	g := newStartGate(2)
	if !g.tryStart() || !g.tryStart() {
		t.Fatal("two starts under a limit of 2 refused")
	}
	if g.tryStart() {
		t.Fatal("third start admitted past the limit")
	}
	g.take() // a confirm the peer began counts even past the limit
	g.release()
	if g.tryStart() {
		t.Fatal("start admitted while two are still running")
	}
	g.release()
	if !g.tryStart() {
		t.Fatal("released start not reusable")
	}
}

func TestStartGateAIMDOnFakeClock(t *testing.T) {
	const st = 10 * time.Second
	now := time.Unix(1_000_000, 0)
	g := newStartGate(8)
	if got := g.Limit(); got != initialStartLimit {
		t.Fatalf("a new gate starts at %d, want %d (low, then AIMD up)", got, initialStartLimit)
	}
	for i := 0; i < 6; i++ {
		g.adapt(st/100, st, now) // fast cycles: +1 each
	}
	if got := g.Limit(); got != 8 {
		t.Fatalf("after six fast cycles limit = %d, want 8", got)
	}

	g.adapt(-1, st, now) // timeout: halve
	if got := g.Limit(); got != 4 {
		t.Fatalf("after a timeout limit = %d, want 4", got)
	}
	g.adapt(-1, st, now.Add(time.Second)) // same burst: no second cut
	if got := g.Limit(); got != 4 {
		t.Fatalf("second cut within the cooldown: limit = %d, want 4", got)
	}
	now = now.Add(st / slowCycleShare)
	g.adapt(st/2, st, now) // slow cycle after the cooldown: halve
	if got := g.Limit(); got != 2 {
		t.Fatalf("after a slow cycle limit = %d, want 2", got)
	}
	for i := 0; i < 3; i++ {
		now = now.Add(st)
		g.adapt(-1, st, now)
	}
	if got := g.Limit(); got != 1 {
		t.Fatalf("floor: limit = %d, want 1", got)
	}
	for i := 0; i < 20; i++ {
		g.adapt(st/100, st, now) // fast cycles: +1 each, capped at max
	}
	if got := g.Limit(); got != 8 {
		t.Fatalf("after fast cycles limit = %d, want 8 (the max)", got)
	}
	g.adapt(st/10, st, now) // neither fast nor slow: unchanged
	if got := g.Limit(); got != 8 {
		t.Fatalf("middling cycle changed limit to %d", got)
	}
}

func TestStartGateContended(t *testing.T) {
	g := newStartGate(1)
	if g.contended() {
		t.Fatal("fresh gate contended")
	}
	g.wait()
	if !g.contended() {
		t.Fatal("a waiting pair does not make the gate contended")
	}
	g.unwait()
	g.unwait() // never below zero
	if g.contended() {
		t.Fatal("gate still contended after the waiter left")
	}
}

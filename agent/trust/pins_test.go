package trust

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTOFUPinMapIsBoundedLRU(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	p.SetMaxPins(3)
	keys := map[string][]byte{}
	for _, id := range []string{"a", "b", "c"} {
		keys[id] = newKey(t)
		if err := p.Pin(id, keys[id]); err != nil {
			t.Fatal(err)
		}
	}
	// Touch a so that b is the least recently used.
	if err := p.Check("a", keys["a"], nil); err != nil {
		t.Fatal(err)
	}
	keys["d"] = newKey(t)
	if err := p.Pin("d", keys["d"]); err != nil {
		t.Fatal(err)
	}
	if n, ev := p.PinStats(); n != 3 || ev != 1 {
		t.Fatalf("PinStats = %d pins, %d evicted; want 3, 1", n, ev)
	}
	// b was evicted: another key for b passes the RAM check (the durable
	// pin, passed as pinned, still refuses it).
	other := newKey(t)
	if err := p.Check("b", other, nil); err != nil {
		t.Fatalf("evicted pin still enforced: %v", err)
	}
	if err := p.Check("b", other, keys["b"]); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("durable pin not enforced: %v", err)
	}
	for _, id := range []string{"a", "c", "d"} {
		if err := p.Check(id, other, nil); !errors.Is(err, ErrKeyChanged) {
			t.Fatalf("pin of %s lost: %v", id, err)
		}
	}
	p.SetMaxPins(1)
	if n, _ := p.PinStats(); n != 1 {
		t.Fatalf("SetMaxPins(1) kept %d pins", n)
	}
}

// A flood of invented IDs with valid keys (tofu admits anyone) keeps the
// map at its bound.
func TestTOFUPinFloodStaysBounded(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	p.SetMaxPins(64)
	k := newKey(t)
	for i := range 10_000 {
		if err := p.CheckSignPub(fmt.Sprintf("invented-%d", i), k, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, ev := p.PinStats(); n != 64 || ev != 10_000-64 {
		t.Fatalf("PinStats = %d, %d", n, ev)
	}
}

func TestCheckDoesNotPinAndPinRefusesAConflictingKey(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	first, second := newKey(t), newKey(t)
	if err := p.Check("a", first, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Check("a", second, nil); err != nil {
		t.Fatalf("Check pinned: %v", err)
	}
	if n, _ := p.PinStats(); n != 0 {
		t.Fatalf("Check left %d pins", n)
	}
	if err := p.Pin("a", first); err != nil {
		t.Fatal(err)
	}
	if err := p.Pin("a", second); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("second Pin: %v, want ErrKeyChanged", err)
	}
	if err := p.Pin("a", first); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	if err := NewPolicy(Fleet, nil).Pin("a", first); err != nil {
		t.Fatalf("Pin outside tofu: %v", err)
	}
}

func TestPrunePinsAndUnpin(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	k := newKey(t)
	for _, id := range []string{"keep-1", "gc-1", "gc-2", "keep-2"} {
		if err := p.Pin(id, k); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.PrunePins(func(id string) bool { return strings.HasPrefix(id, "gc-") }); n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	if !p.Unpin("keep-1") || p.Unpin("keep-1") || p.Unpin("gc-1") {
		t.Fatal("Unpin reported wrongly")
	}
	if n, ev := p.PinStats(); n != 1 || ev != 0 {
		t.Fatalf("PinStats = %d, %d; pruning is not eviction", n, ev)
	}
}

func TestPolicyIsSafeForConcurrentUse(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	p.SetMaxPins(16)
	k := newKey(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("g%d-%d", g, i%40)
				_ = p.CheckSignPub(id, k, nil)
				p.MarkBinds(id)
				_ = p.RequiresBind(id)
				if i%100 == 0 {
					p.PrunePins(func(string) bool { return i%200 == 0 })
				}
			}
		})
	}
	wg.Wait()
	if n, _ := p.PinStats(); n > 16 {
		t.Fatalf("%d pins over the bound", n)
	}
}

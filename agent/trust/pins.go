package trust

import (
	"container/list"
	"crypto/ed25519"
)

// DefaultMaxPins bounds the TOFU pin map when SetMaxPins is not called;
// it equals the agent's default --max-peers.
const DefaultMaxPins = 4096

// pin is what tofu mode remembers about a peer in RAM.
type pin struct {
	id  string
	key ed25519.PublicKey
	// binds: a verified `bind` was seen from this peer (plan §2.5 sticky
	// pin); from then on a missing `bind` is a downgrade.
	binds bool
}

// pinLRU is a bounded map of pins, least recently used evicted first. The
// map is only a cache: the durable pin is the row's peer_sign_pub (and
// peer_binds), which CheckSignPub/Check take as `pinned`, so evicting a
// pin under a flood of invented IDs does not let a pinned peer's key be
// replaced. Not safe for concurrent use; Policy holds its mutex.
type pinLRU struct {
	max     int
	order   *list.List // front = most recent; values are *pin
	byID    map[string]*list.Element
	evicted uint64
}

func newPinLRU(max int) *pinLRU {
	if max <= 0 {
		max = DefaultMaxPins
	}
	return &pinLRU{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the pin for id and marks it recently used.
func (l *pinLRU) get(id string) (*pin, bool) {
	e, ok := l.byID[id]
	if !ok {
		return nil, false
	}
	l.order.MoveToFront(e)
	return e.Value.(*pin), true
}

// put inserts or refreshes a pin, evicting the least recently used ones
// beyond max.
func (l *pinLRU) put(p *pin) {
	if e, ok := l.byID[p.id]; ok {
		e.Value = p
		l.order.MoveToFront(e)
		return
	}
	l.byID[p.id] = l.order.PushFront(p)
	l.shrink()
}

func (l *pinLRU) shrink() {
	for l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.byID, oldest.Value.(*pin).id)
		l.evicted++
	}
}

func (l *pinLRU) remove(id string) bool {
	e, ok := l.byID[id]
	if !ok {
		return false
	}
	l.order.Remove(e)
	delete(l.byID, id)
	return true
}

// prune removes the pins for which drop returns true and reports how many.
func (l *pinLRU) prune(drop func(id string) bool) int {
	n := 0
	for e := l.order.Front(); e != nil; {
		next := e.Next()
		if p := e.Value.(*pin); drop(p.id) {
			l.order.Remove(e)
			delete(l.byID, p.id)
			n++
		}
		e = next
	}
	return n
}

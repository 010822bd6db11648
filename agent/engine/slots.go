package engine

import (
	"sync"
	"time"
)

// DefaultMaxActiveCycles bounds the responder cycles one agent runs at
// once. Every cycle costs a fixed number of database writes, so beyond
// what the database absorbs, more concurrent cycles only make each one
// slower, until cycles outlast the state timeout and the fleet completes
// none. With a bound, a busy fleet queues cycle starts instead.
const DefaultMaxActiveCycles = 8

// cycleSlots is a counting semaphore with a queue of waiting
// conversations. A released slot passes straight to a waiter: the oldest
// pair that never completed a cycle first, else the oldest (slotorder.go).
type cycleSlots struct {
	mu      sync.Mutex
	limit   int // current bound (see adapt)
	max     int // the configured bound; 0 until the first adapt
	lastCut time.Time
	used    int
	// strangers: slots held by conversations with peers that never
	// completed a cycle (see strangerLimit).
	strangers int
	waiters   []*conv
	// passedOver counts slots handed to fresh pairs in a row while a
	// cycled pair waited ahead of them (slotorder.go).
	passedOver int
}

// acquire takes a slot, or queues c (once) to be woken with one. A
// stranger (budget.go) gets a slot only while strangers hold fewer than
// strangerLimit, so peers that never complete a cycle cannot hold every
// slot (issue 12 item 5, the slot hog), and is never queued.
func (s *cycleSlots) acquire(c *conv) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < s.limit && s.eligible(c) {
		s.grant(c)
		return true
	}
	if c.stranger.Load() {
		return false // strangers are not queued (strangerSlotWait)
	}
	for _, w := range s.waiters {
		if w == c {
			return false
		}
	}
	s.waiters = append(s.waiters, c)
	return false
}

// strangerLimit is how many slots strangers may hold: half the limit,
// at least one.
func (s *cycleSlots) strangerLimit() int { return max(1, s.limit/2) }

func (s *cycleSlots) eligible(c *conv) bool {
	return !c.stranger.Load() || s.strangers < s.strangerLimit()
}

// grant counts a slot for c; s.mu is held.
func (s *cycleSlots) grant(c *conv) {
	s.used++
	c.slotStranger = c.stranger.Load()
	if c.slotStranger {
		s.strangers++
	}
}

// take counts a slot for a cycle already running at start-up, even past
// the limit.
func (s *cycleSlots) take() {
	s.mu.Lock()
	s.used++
	s.mu.Unlock()
}

// release returns c's slot, handing it to the next eligible waiter if
// any and the (possibly lowered) limit allows.
func (s *cycleSlots) release(c *conv) {
	s.mu.Lock()
	if c.slotStranger {
		c.slotStranger = false
		s.strangers = max(0, s.strangers-1)
	}
	s.used--
	woken := s.handOff()
	s.mu.Unlock()
	wakeAll(woken)
}

// handOff grants free slots to waiters (slotorder.go picks which) and
// returns them to be woken once s.mu is released; s.mu is held.
func (s *cycleSlots) handOff() []*conv {
	var woken []*conv
	for s.used < s.limit {
		i := s.next()
		if i < 0 {
			break
		}
		w := s.waiters[i]
		s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
		s.grant(w)
		woken = append(woken, w)
	}
	return woken
}

func wakeAll(woken []*conv) {
	for _, w := range woken {
		w.wake <- struct{}{} // capacity 1, and w is queued at most once
	}
}

// forget drops c from the queue (its goroutine is exiting).
func (s *cycleSlots) forget(c *conv) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiters {
		if w == c {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

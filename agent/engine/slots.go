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

// cycleSlots is a counting semaphore with a FIFO of waiting conversations.
// A released slot passes straight to the oldest waiter, so every pair gets
// its turn.
type cycleSlots struct {
	mu      sync.Mutex
	limit   int // current bound (see adapt)
	max     int // the configured bound; 0 until the first adapt
	lastCut time.Time
	used    int
	waiters []*conv
}

// acquire takes a slot, or queues c (once) to be woken with one.
func (s *cycleSlots) acquire(c *conv) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < s.limit {
		s.used++
		return true
	}
	for _, w := range s.waiters {
		if w == c {
			return false
		}
	}
	s.waiters = append(s.waiters, c)
	return false
}

// take counts a slot for a cycle already running at start-up, even past
// the limit.
func (s *cycleSlots) take() {
	s.mu.Lock()
	s.used++
	s.mu.Unlock()
}

// release returns a slot, handing it to the oldest waiter if any and the
// (possibly lowered) limit allows.
func (s *cycleSlots) release() {
	s.mu.Lock()
	if len(s.waiters) == 0 || s.used > s.limit {
		s.used--
		s.mu.Unlock()
		return
	}
	w := s.waiters[0]
	s.waiters = s.waiters[1:]
	s.mu.Unlock()
	w.wake <- struct{}{} // capacity 1, and w is queued at most once
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

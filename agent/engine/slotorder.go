package engine

// Which waiter gets a released responder slot: a pair that never completed
// a cycle ("fresh") before one that has ("cycled"). With a plain FIFO a
// 100-agent fleet kept re-cycling pairs that had cycled already: a
// finished initiator sends its reconnect at once, so cycled pairs re-join
// every responder's queue as fast as fresh pairs' registers do, and
// 29,319 cycles covered only 9,088 of 9,900 pairs (docs/engine-scale.md).

// maxPassOver bounds how many slots in a row go to fresh pairs while a
// cycled pair waits ahead of them; then the oldest waiter is served, so a
// cycled pair waits at most this many cycles (well inside the queue's
// state-timeout expiry at the rates measured) even if fresh pairs keep
// coming.
const maxPassOver = 8

// next is the index of the waiter to serve, or -1 when none is eligible;
// s.mu is held.
func (s *cycleSlots) next() int {
	oldest, fresh := -1, -1
	for i, w := range s.waiters {
		if !s.eligible(w) {
			continue
		}
		if oldest < 0 {
			oldest = i
		}
		if !w.cycled.Load() {
			fresh = i
			break
		}
	}
	switch {
	case fresh < 0 || fresh == oldest:
		s.passedOver = 0
		return oldest
	case s.passedOver >= maxPassOver:
		s.passedOver = 0
		return oldest
	}
	s.passedOver++
	return fresh
}

package engine

import "time"

// The slot limit adapts to how long responder cycles take (AIMD, as TCP
// does with its window): a fleet larger than the machine can carry makes
// every cycle slower, and letting each agent keep MaxActiveCycles running
// then only stretches them past the state timeout, where all the work
// is lost (congestion collapse). A slow cycle or a timeout halves the
// limit (at most once per cooldown, so one burst counts once); a fast
// cycle raises it by one, up to MaxActiveCycles.

// slowCycle: a responder cycle longer than this share of the state
// timeout is a sign of overload.
const slowCycleShare = 4 // StateTimeout / 4

// fastCycleShare: a cycle shorter than StateTimeout / 20 may widen the limit.
const fastCycleShare = 20

// adapt feeds one finished responder cycle (d > 0) or a responder timeout
// (d < 0) into the limit.
func (s *cycleSlots) adapt(d, stateTimeout time.Duration, now time.Time) {
	s.mu.Lock()
	if s.max == 0 {
		s.max = s.limit
	}
	s.limit, s.lastCut = aimd(s.limit, s.max, s.lastCut, d, stateTimeout, now)
	woken := s.handOff() // a raised limit serves the queue, not the next comer
	s.mu.Unlock()
	wakeAll(woken)
}

// Limit is the current bound on concurrent responder cycles.
func (s *cycleSlots) Limit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

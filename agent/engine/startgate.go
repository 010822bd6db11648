package engine

import (
	"sync"
	"time"
)

// startGate is the initiator's admission control: it bounds how many
// cycles one agent has started (a reconnect sent, not yet completed) at
// once. Without it every initiator asks every peer at once, responders
// queue the starts, and most starts outlast the state timeout there, so
// their work is lost. The bound adapts like the responder slots (AIMD on
// slow cycles and timeouts). A start the gate refuses is only postponed:
// the reconnect is held back and the retry timer tries again.
type startGate struct {
	mu      sync.Mutex
	limit   int
	max     int
	used    int
	waiting int // pairs whose start was refused and not yet admitted
	lastCut time.Time
}

// initialStartLimit is where the bound starts: low, so a fleet larger
// than the machine can carry does not begin by starting more cycles than
// it can finish within the state timeout (then every one is lost). Fast
// cycles raise it by one each, up to the max.
const initialStartLimit = 2

func newStartGate(maxLimit int) *startGate {
	return &startGate{limit: min(initialStartLimit, maxLimit), max: maxLimit}
}

// tryStart takes a start if the limit allows.
func (g *startGate) tryStart() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used >= g.limit {
		return false
	}
	g.used++
	return true
}

// wait marks one more pair as waiting for a start; unwait undoes it.
func (g *startGate) wait() {
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
}

func (g *startGate) unwait() {
	g.mu.Lock()
	g.waiting = max(0, g.waiting-1)
	g.mu.Unlock()
}

// contended reports whether some pair is waiting for a start: a pair that
// just finished a cycle then queues behind it instead of starting again
// at once, so every pair gets its turn.
func (g *startGate) contended() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting > 0
}

// take counts a start the peer began without asking us (a confirm to our
// broadcast register), even past the limit. Refusing or holding it makes
// the responder's slot wait for our gate while our starts wait for
// responder slots: hold-and-wait on both sides, which at 100 agents
// deadlocked pairs until their state timeouts (measured: 8 and 18
// cycles/s against 48; docs/engine-scale.md).
func (g *startGate) take() {
	g.mu.Lock()
	g.used++
	g.mu.Unlock()
}

func (g *startGate) release() {
	g.mu.Lock()
	g.used = max(0, g.used-1)
	g.mu.Unlock()
}

// adapt feeds a completed cycle (d > 0) or a timeout (d < 0) into the limit.
func (g *startGate) adapt(d, stateTimeout time.Duration, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit, g.lastCut = aimd(g.limit, g.max, g.lastCut, d, stateTimeout, now)
}

// Limit is the current bound on started initiator cycles.
func (g *startGate) Limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

// aimd is the shared additive-increase, multiplicative-decrease rule: a
// timeout (d < 0) or a cycle slower than a quarter of the state timeout
// halves limit (at most once per quarter timeout, floor 1); a cycle
// faster than 1/20 of it adds one, up to max.
func aimd(limit, maxLimit int, lastCut time.Time, d, stateTimeout time.Duration, now time.Time) (int, time.Time) {
	switch {
	case d < 0 || d > stateTimeout/slowCycleShare:
		if now.Sub(lastCut) >= stateTimeout/slowCycleShare && limit > 1 {
			return max(1, limit/2), now
		}
	case d < stateTimeout/fastCycleShare && limit < maxLimit:
		return limit + 1, lastCut
	}
	return limit, lastCut
}

package relay

import (
	"sync/atomic"
	"time"
)

// clockTick is the resolution of the relay's coarse clock. It only has to
// be fine next to the 250 ms stuck window and the write deadlines, and
// coarse enough that an idle relay hardly wakes up.
const clockTick = 10 * time.Millisecond

// coarseClock is unix nanoseconds refreshed every clockTick, so the hot path
// reads the time with one atomic load instead of a clock call per line.
type coarseClock struct{ now atomic.Int64 }

func newCoarseClock() *coarseClock {
	c := &coarseClock{}
	c.now.Store(time.Now().UnixNano())
	return c
}

func (c *coarseClock) load() int64 { return c.now.Load() }

// run refreshes the clock until done closes.
func (c *coarseClock) run(done <-chan struct{}) {
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			c.now.Store(now.UnixNano())
		}
	}
}

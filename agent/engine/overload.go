package engine

import (
	"github.com/hsfleet/hsfleet/agent/protocol"
	"sync"
	"time"
)

// maxLineAge is how long a received line may wait in a conversation's
// inbox before it is dropped unprocessed: half the state timeout. By then
// the sender has re-sent it (retries start at RetryInterval) or given up,
// so spending crypto and a database step on it only deepens an overload.
func (e *Engine) maxLineAge() time.Duration { return e.cfg.StateTimeout / 2 }

// stale reports whether msg waited too long to be worth processing; it
// counts and (rate-limited) logs the drop.
func (c *conv) stale(msg protocol.Msg, now time.Time) bool {
	if msg.Received.IsZero() || now.Sub(msg.Received) <= c.e.maxLineAge() {
		return false
	}
	c.e.m.RejectedLines.WithLabelValues("stale").Inc()
	if n, ok := c.e.staleLog.due(now); ok {
		c.e.log.Warn("stale lines dropped before processing; the agent is overloaded",
			"dropped", n, "max_age", c.e.maxLineAge(), "age", now.Sub(msg.Received), "intent", msg.Intent)
	}
	return true
}

// rateLog lets one log line through per interval and counts the events
// it stood for.
type rateLog struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	count    int
}

// due counts one event and reports whether to log now, with the events
// since the last log line.
func (r *rateLog) due(now time.Time) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		return 0, false
	}
	n := r.count
	r.last, r.count = now, 0
	return n, true
}

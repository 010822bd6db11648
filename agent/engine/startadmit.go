package engine

import (
	"github.com/hsfleet/hsfleet/agent/protocol"
	"math/rand/v2"
	"time"
)

// admit applies the start gate to an initiator step's sends: a completed
// cycle gives its start back, a confirm that began a cycle counts, and a
// reconnect (asking the peer for the next cycle) goes out only if the gate
// admits it. A held-back reconnect is retried after a jittered interval;
// that wait is ours, so it does not run the state timeout.
func (c *conv) admit(res protocol.Result, prevState protocol.State, prevMem protocol.Mem, outs []protocol.Out, now time.Time) []protocol.Out {
	if res.CycleDone {
		if c.holdsStart {
			c.e.starts.adapt(now.Sub(prevMem.CycleStart), c.e.cfg.StateTimeout, now)
		}
		c.endStart()
	}
	if prevState == protocol.StateInitReady && c.Row.State != protocol.StateInitReady && !c.holdsStart {
		c.e.starts.take()
		c.holdsStart = true
		c.setWaitingStart(false)
	}
	if c.holdsStart || !hasIntent(outs, protocol.IntentReconnect) {
		return outs
	}
	if !(res.CycleDone && c.e.starts.contended()) && c.e.starts.tryStart() {
		c.holdsStart = true
		c.setWaitingStart(false)
		return outs
	}
	c.setWaitingStart(true)
	c.e.m.StartsDeferred.Inc()
	c.dl.rewait(now) // the wait is our gate's, not the peer's
	wait := c.e.cfg.RetryInterval
	c.dl.retry = now.Add(wait/2 + rand.N(wait/2+1))
	return withoutIntent(outs, protocol.IntentReconnect)
}

func (c *conv) setWaitingStart(w bool) {
	switch {
	case w && !c.waitingStart:
		c.e.starts.wait()
	case !w && c.waitingStart:
		c.e.starts.unwait()
	}
	c.waitingStart = w
}

// endStart gives the pair's start back to the gate.
func (c *conv) endStart() {
	if c.holdsStart {
		c.holdsStart = false
		c.e.starts.release()
	}
}

func hasIntent(outs []protocol.Out, intent protocol.Intent) bool {
	for _, o := range outs {
		if o.Intent == intent {
			return true
		}
	}
	return false
}

package engine

import (
	"math/rand/v2"
	"time"
)

// admit applies the start gate to an initiator step's sends: a completed
// cycle gives its start back, a confirm that began a cycle counts, and a
// reconnect (asking the peer for the next cycle) goes out only if the gate
// admits it. A held-back reconnect is retried after a jittered interval;
// that wait is ours, so it does not run the state timeout.
func (c *conv) admit(res Result, prevState string, prevMem Mem, outs []Out, now time.Time) []Out {
	if res.CycleDone {
		if c.holdsStart {
			c.e.starts.adapt(now.Sub(prevMem.CycleStart), c.e.cfg.StateTimeout, now)
		}
		c.endStart()
	}
	if prevState == StateInitReady && c.row.State != StateInitReady && !c.holdsStart {
		c.e.starts.take()
		c.holdsStart = true
		c.setWaitingStart(false)
	}
	if c.holdsStart || !hasIntent(outs, IntentReconnect) {
		return outs
	}
	if !(res.CycleDone && c.e.starts.contended()) && c.e.starts.tryStart() {
		c.holdsStart = true
		c.setWaitingStart(false)
		return outs
	}
	c.setWaitingStart(true)
	c.e.m.StartsDeferred.Inc()
	c.dl.progress = now
	wait := c.e.cfg.RetryInterval
	c.dl.retry = now.Add(wait/2 + rand.N(wait/2+1))
	return withoutIntent(outs, IntentReconnect)
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

// ReasonStartGate: a confirm we did not ask for (an answer to our
// broadcast register) arrived while the start gate was full; it is held
// and taken once a start is free.
const ReasonStartGate = "start_gate_full"

// admitConfirm applies the start gate to a confirm that would start a cycle
// the pair holds no start for. ok is false when the gate is full: the
// confirm is held (the latest one, counted) and handled when a start is
// released to this pair (wakeConfirm). Before, such confirms were taken
// past the bound; at 100 agents every register then drew up to N-1 of
// them and most of the cycles they started timed out. Dropping them
// instead starved the gate: a free start then waited for the responder's
// backed-off re-send. took: a start was taken for this confirm, to give
// back if it starts no cycle (confirmDone).
func (c *conv) admitConfirm(msg Msg) (ok, took bool) {
	if c.role != Initiator || c.holdsStart || c.row.State != StateInitReady ||
		msg.Intent != IntentConfirm || msg.Broadcast() {
		return true, false
	}
	if c.heldConfirm != nil {
		c.heldConfirm = &msg // already waiting: keep the latest re-send
		return false, false
	}
	if !c.e.starts.admitConfirm(c) {
		c.e.m.Ignored.WithLabelValues(ReasonStartGate).Inc()
		c.heldConfirm = &msg
		return false, false
	}
	c.holdsStart = true
	c.setWaitingStart(false)
	return true, true
}

// wakeConfirm handles the held confirm once the gate handed this pair a
// start; a confirm that waited past the stale-line age is dropped, and
// the start passes on.
func (c *conv) wakeConfirm() {
	msg := c.heldConfirm
	c.heldConfirm = nil
	if c.holdsStart {
		// The pair started another way meanwhile: pass the start on.
		c.e.starts.release()
		return
	}
	c.holdsStart = true
	c.setWaitingStart(false)
	if msg == nil || c.row.State != StateInitReady || c.stale(*msg, c.e.cfg.Now()) {
		c.confirmDone(true)
		return
	}
	c.step(msg.Intent, func(row Row, mem Mem, env Env) (Result, error) {
		return c.e.machine.OnMessage(row, mem, *msg, env)
	})
	c.confirmDone(true)
}

// dropHeldConfirm leaves the gate's queue (the conversation ends, or its
// pair holds a start now); a start handed over in the meantime is given
// back.
func (c *conv) dropHeldConfirm() {
	if c.heldConfirm == nil {
		return
	}
	c.heldConfirm = nil
	c.e.starts.forget(c)
	select {
	case <-c.wake:
		c.e.starts.release()
	default:
	}
}

// confirmDone gives back the start admitConfirm took when the confirm did
// not start a cycle (it was rejected).
func (c *conv) confirmDone(took bool) {
	if took && c.row.State == StateInitReady {
		c.endStart()
	}
}

func hasIntent(outs []Out, intent string) bool {
	for _, o := range outs {
		if o.Intent == intent {
			return true
		}
	}
	return false
}

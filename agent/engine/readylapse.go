package engine

import "time"

// respReadyLapseFactor × StateTimeout is how long a responder that
// completed a cycle waits in resp_ready for the initiator's reconnect
// before it gives the reference up and answers register instead.
//
// The wait is long because in a large fleet it is the initiator's start
// gate, not a lost peer, that keeps the reconnect back: an agent cycles
// its N−1 pairs a few at a time, so at 100 agents a pair's next reconnect
// comes minutes after its last cycle. A lapse after one state timeout (as
// before) turned almost every next cycle into a confirm to the broadcast
// register, which the initiator accepts past its gate (startgate.go): the
// gate stopped bounding anything, and the fleet overran itself in waves
// (docs/engine-scale.md). The lapse stays, long, for an initiator that
// lost its reference (its row deleted), which can only start again
// through register.
const respReadyLapseFactor = 30

// stateTimeout is how long the current state may wait without progress.
func (c *conv) stateTimeout() time.Duration {
	if c.role == Responder && c.row.State == StateRespReady {
		return respReadyLapseFactor * c.e.cfg.StateTimeout
	}
	return c.e.cfg.StateTimeout
}

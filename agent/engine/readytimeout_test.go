package engine

import (
	"testing"
	"time"
)

// A responder's wait in resp_ready for the initiator's reconnect lapses
// without cutting the cycle slots (no cycle ran, the initiator's gate held
// the reconnect back); a timeout of a running responder cycle still halves
// them. Both give the row up the same way.
func TestRespReadyTimeoutKeepsTheSlotLimit(t *testing.T) {
	for _, tc := range []struct {
		state State
		want  int
	}{{StateRespReady, 8}, {StateRespExchange, 4}} {
		t.Run(string(tc.state), func(t *testing.T) {
			e, load := slotEngine(t, 8)
			e.slots.adapt(time.Millisecond, e.cfg.StateTimeout, time.Now()) // settles max at 8
			c := load("peer", 1)
			c.row.State, c.row.LocalRef, c.row.PeerNonce = tc.state, "our-ref", "their-nonce"
			c.dl.progress = time.Now().Add(-c.stateTimeout() - time.Second)
			if tc.state != StateRespReady {
				c.holdsSlot = e.slots.acquire(c)
			}
			before := metricValue(e.m.Timeouts.WithLabelValues(string(tc.state)))
			c.onTimer()
			if got := metricValue(e.m.Timeouts.WithLabelValues(string(tc.state))) - before; got != 1 {
				t.Fatalf("timeouts counted %v, want 1", got)
			}
			if got := e.slots.Limit(); got != tc.want {
				t.Fatalf("slot limit %d after a %s timeout, want %d", got, tc.state, tc.want)
			}
			if c.row.State != StateRespReady || c.row.LocalRef != "" || c.stored.LocalReference != nil {
				t.Fatalf("row after the timeout: %s ref %q stored %v; want resp_ready without a reference, saved",
					c.row.State, c.row.LocalRef, c.stored.LocalReference)
			}
		})
	}
}

// The resp_ready wait for the reconnect outlasts many state timeouts: in
// a large fleet the initiator's start gate holds the reconnect back that
// long, and a lapse would make the pair start through the broadcast
// register, past that gate (readylapse.go). A running state still times
// out after one.
func TestRespReadyWaitOutlastsTheStateTimeout(t *testing.T) {
	e, load := slotEngine(t, 8)
	c := load("peer", 1)
	c.row.State, c.row.LocalRef = StateRespReady, "our-ref"
	if got, want := c.stateTimeout(), respReadyLapseFactor*e.cfg.StateTimeout; got != want {
		t.Fatalf("resp_ready wait %v, want %v", got, want)
	}
	c.dl.progress = time.Now().Add(-2 * e.cfg.StateTimeout)
	before := metricValue(e.m.Timeouts.WithLabelValues(string(StateRespReady)))
	c.onTimer()
	if got := metricValue(e.m.Timeouts.WithLabelValues(string(StateRespReady))) - before; got != 0 {
		t.Fatalf("resp_ready timed out after two state timeouts (%v counted)", got)
	}
	if c.row.State != StateRespReady || c.row.LocalRef != "our-ref" {
		t.Fatalf("row after two state timeouts: %s ref %q; want resp_ready keeping our-ref", c.row.State, c.row.LocalRef)
	}
	c.row.State = StateRespExchange
	if got := c.stateTimeout(); got != e.cfg.StateTimeout {
		t.Fatalf("resp_exchange timeout %v, want %v", got, e.cfg.StateTimeout)
	}
}

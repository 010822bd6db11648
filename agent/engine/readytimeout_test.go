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
			c.dl.progressed(time.Now().Add(-time.Minute))
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

package engine

import (
	"github.com/hsfleet/hsfleet/agent/protocol"
	"testing"
	"time"
)

// A responder's wait in resp_ready for the initiator's reconnect lapses
// without cutting the cycle slots (no cycle ran, the initiator's gate held
// the reconnect back); a timeout of a running responder cycle still halves
// them. Both give the row up the same way.
func TestRespReadyTimeoutKeepsTheSlotLimit(t *testing.T) {
	for _, tc := range []struct {
		state protocol.State
		want  int
	}{{protocol.StateRespReady, 8}, {protocol.StateRespExchange, 4}} {
		t.Run(string(tc.state), func(t *testing.T) {
			e, load := slotEngine(t, 8)
			e.slots.adapt(time.Millisecond, e.cfg.StateTimeout, time.Now()) // settles max at 8
			c := load("peer", 1)
			c.Row.State, c.Row.LocalRef, c.Row.PeerNonce = tc.state, "our-ref", "their-nonce"
			c.dl.progressed(time.Now().Add(-time.Minute))
			if tc.state != protocol.StateRespReady {
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
			if c.Row.State != protocol.StateRespReady || c.Row.LocalRef != "" || c.stored.LocalReference != nil {
				t.Fatalf("row after the timeout: %s ref %q stored %v; want resp_ready without a reference, saved",
					c.Row.State, c.Row.LocalRef, c.stored.LocalReference)
			}
		})
	}
}

package engine

import (
	"context"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"testing"
	"time"
)

// Lines that waited longer than half the state timeout (an overloaded
// agent) are dropped before any crypto or database work, counted as stale;
// once load falls, the next fresh line is processed as usual.
func TestStaleLinesAreDroppedUnprocessedAndFreshOnesStillWork(t *testing.T) {
	e, cs, c, cancel := waitingResponder(t, 10*time.Second)
	defer cancel()
	closeMsg := protocol.Msg{Intent: protocol.IntentClose, From: "peer-b", To: e.self, YourRef: "2222222222", MyRef: "1111111111"}
	stale := closeMsg
	stale.Received = time.Now().Add(-e.maxLineAge() - time.Second)
	const n = 20
	for i := 0; i < n; i++ {
		c.inbox <- stale
	}
	dropped := e.m.RejectedLines.WithLabelValues("stale")
	for i := 0; metricValue(dropped) < n; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatalf("%v of %d stale lines dropped", metricValue(dropped), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if u := cs.updates.Load(); u != 0 || metricValue(e.m.Cycles.WithLabelValues(string(protocol.Responder), "false")) != 0 {
		t.Fatalf("stale lines were processed: %d updates", u)
	}

	fresh := closeMsg
	fresh.Received = time.Now()
	c.inbox <- fresh
	cycles := e.m.Cycles.WithLabelValues(string(protocol.Responder), "false")
	for i := 0; metricValue(cycles) < 1; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("a fresh close after the stale ones did not complete the cycle")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs, err := cs.Get(context.Background(), c.key)
	if err != nil || rs.State != string(protocol.StateRespReady) || rs.Cycles != 1 {
		t.Fatalf("row %s cycles %d err %v; want resp_ready with 1 cycle", rs.State, rs.Cycles, err)
	}
}

func TestRateLogLetsOneLinePerIntervalThroughWithTheCount(t *testing.T) {
	r := rateLog{interval: 10 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if n, ok := r.due(t0); !ok || n != 1 {
		t.Fatalf("first event: %d %v", n, ok)
	}
	for i := 1; i <= 5; i++ {
		if _, ok := r.due(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatal("logged within the interval")
		}
	}
	if n, ok := r.due(t0.Add(11 * time.Second)); !ok || n != 6 {
		t.Fatalf("after the interval: %d %v, want 6 true", n, ok)
	}
}

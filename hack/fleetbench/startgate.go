package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Agents that start together all unseal their identity (scrypt), open
// their store (connect, migrations serialized by an advisory lock, the
// hot statements) and create their rows at the same moment. 100 of them
// 10 ms apart on 2 cores made backends start past connect_timeout, and the
// agents logged 150-254 "database not reachable, retrying" per run, each a
// wasted backend fork on a server already behind. The gate lets a bounded
// number start at a time, as fast as the machine brings them up.

// agentUpMsg is the engine's log line once the agent's store is open, its
// rows exist and it reads the relay: its start-up work is done.
const agentUpMsg = "agent started"

// startSlotLimit is the longest one agent holds a slot: an agent whose
// store open keeps failing, or that does not log agentUpMsg (a log level
// above info), holds back the others only this long.
const startSlotLimit = 10 * time.Second

// startGate lets at most n agents be starting at once: each holds a slot
// from its process start until it logs agentUpMsg, exits, or the limit.
type startGate struct {
	slots chan struct{} // nil: no limit
	limit time.Duration
	// byLimit counts slots freed by the limit, not by the agent.
	byLimit atomic.Int64
}

func newStartGate(n int, limit time.Duration) *startGate {
	g := &startGate{limit: limit}
	if n > 0 {
		g.slots = make(chan struct{}, n)
	}
	return g
}

// enter waits for a free slot.
func (g *startGate) enter(ctx context.Context) error {
	if g.slots == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// holdUntilUp frees the slot c entered with once c is up or gone.
func (g *startGate) holdUntilUp(c *child) {
	if g.slots == nil {
		return
	}
	go func() {
		t := time.NewTimer(g.limit)
		defer t.Stop()
		select {
		case <-c.up:
		case <-c.exited:
		case <-t.C:
			g.byLimit.Add(1)
		}
		<-g.slots
	}()
}

// startLimit says how the gate spaces n agents' starts.
func startLimit(n int) string {
	if n <= 0 {
		return "all at once"
	}
	return fmt.Sprintf("at most %d at once", n)
}

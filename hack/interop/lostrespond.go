package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"
)

// lostRespondRestart: the lost respond (docs/protocol.md §6.1). Once
// hsbob -> alice has cycled, a proxy in front of our relay holds back
// every respond the Python responder sends. With hsbob's request out and
// its answer held, hsbob is SIGKILLed and restarted; the hold ends a few
// seconds after the restart. alice re-sends that respond, sealed under the
// key that died with hsbob, every second and accepts only a conclude
// echoing its nonce; the reference has no timeout in resp_exchange. The
// pair must cycle again after the hold.
func lostRespondRestart(r *run) error {
	pythonRespond := []byte(`"intent": "respond"`) // Python's json.dumps separators
	var armed atomic.Bool
	var first atomic.Int64
	var release atomic.Int64 // unix nanos; 0 = not yet known
	hold := func(line []byte) bool {
		if !armed.Load() || !bytes.Contains(line, pythonRespond) {
			return false
		}
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		end := release.Load()
		return end == 0 || now < end
	}
	py, hs, proxy, err := r.proxiedPair(hold)
	if err != nil {
		return err
	}
	if err := r.waitCycles(hs, py, 1, r.d(90)); err != nil {
		return err
	}
	armed.Store(true)
	deadline := time.Now().Add(r.d(30))
	for first.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if first.Load() == 0 {
		return fmt.Errorf("alice sent no respond in %v after hsbob -> alice cycled", r.d(30))
	}
	// hsbob saved its request before sending it; alice's answer is held.
	time.Sleep(r.d(1))
	fmt.Printf("  killing hsbob (SIGKILL) with alice's respond held back\n")
	hs.p.kill()
	time.Sleep(r.d(1))
	if hs.p, err = hs.start(); err != nil {
		return err
	}
	release.Store(time.Now().Add(r.d(5)).UnixNano())
	time.Sleep(time.Until(time.Unix(0, release.Load())))
	after, err := r.snapshot()
	if err != nil {
		return err
	}
	fmt.Printf("  held back %d Python responds\n", proxy.dropped.Load())
	time.Sleep(r.d(30))
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	r.report("total", now, nil, 0, true)
	err = r.report("after the hold", now, after, 0, true)
	if now.cycles(hs, py)-after.cycles(hs, py) == 0 {
		fmt.Printf("  STALL hsbob -> alice: initiator %s; responder %s\n", r.stateOf(hs, "initiator", py), r.stateOf(py, "responder", hs))
		return fmt.Errorf("hsbob -> alice: no cycle after the hold")
	}
	return err
}

// waitCycles waits until from -> to has completed n cycles.
func (r *run) waitCycles(from, to *agent, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		s, err := r.snapshot()
		if err == nil && s.cycles(from, to) >= n {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s -> %s: fewer than %d cycles in %v", from.name, to.name, n, limit)
}

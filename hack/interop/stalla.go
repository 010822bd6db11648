package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"
)

// stallALostConclude: stall A, second half (docs/protocol.md §6.1). A
// proxy in front of our relay drops every conclude the Python agent sends
// for one state timeout + 2 s after its first, so our responder times out
// in resp_exchange before any conclude reaches it. The reference has no
// timeouts: without our responder's tombstone the Python initiator waits
// in init_finalize_propose forever. The pair must cycle again afterwards.
func stallALostConclude(r *run) error {
	window := r.stateTimeout + 2*time.Second
	// Python's json.dumps separators; our agents' lines are compact.
	pythonConclude := []byte(`"intent": "conclude"`)
	var first atomic.Int64
	hold := func(line []byte) bool {
		if !bytes.Contains(line, pythonConclude) {
			return false
		}
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		return time.Duration(now-first.Load()) < window
	}
	py, hs, proxy, err := r.proxiedPair(hold)
	if err != nil {
		return err
	}
	return r.cycleAfterHold(&first, window, proxy, "conclude", py, hs)
}

// proxiedPair starts our relay, a faults proxy in front of it that drops
// the lines hold picks, and Python alice and hsfleet hsbob on the proxy.
func (r *run) proxiedPair(hold func(line []byte) bool) (py, hs *agent, proxy *faultProxy, err error) {
	relayAddr, err := freeAddr()
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := r.startOurRelay(relayAddr); err != nil {
		return nil, nil, nil, err
	}
	if proxy, err = startFaultProxy(pythonRelayAddr, relayAddr, 0, 0, 0, hold); err != nil {
		return nil, nil, nil, err
	}
	r.extra = proxy.close
	if py, err = r.startPython("alice"); err != nil {
		return nil, nil, nil, err
	}
	if hs, err = r.startHsfleet("hsbob", pythonRelayAddr); err != nil {
		return nil, nil, nil, err
	}
	return py, hs, proxy, nil
}

// cycleAfterHold waits (up to 60 s) for that first line, then for the
// window to end, and requires py -> hs to cycle within 40 s after it.
// what names the held lines.
func (r *run) cycleAfterHold(first *atomic.Int64, window time.Duration, proxy *faultProxy, what string, py, hs *agent) error {
	deadline := time.Now().Add(r.d(60))
	for first.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if first.Load() == 0 {
		return fmt.Errorf("%s sent no %s in %v", py.name, what, r.d(60))
	}
	time.Sleep(time.Until(time.Unix(0, first.Load()).Add(window)))
	after, err := r.snapshot()
	if err != nil {
		return err
	}
	fmt.Printf("  held back %d Python %ss for %s\n", proxy.dropped.Load(), what, window)
	time.Sleep(r.d(40))
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	r.report("total", now, nil, 0, true)
	err = r.report("after the window", now, after, 0, true)
	if now.cycles(py, hs)-after.cycles(py, hs) == 0 {
		fmt.Printf("  STALL %s -> %s: initiator %s; responder %s\n", py.name, hs.name, r.stateOf(py, "initiator", hs), r.stateOf(hs, "responder", py))
		return fmt.Errorf("%s -> %s: no cycle after the window", py.name, hs.name)
	}
	return err
}

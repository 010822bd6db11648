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
	deadline := time.Now().Add(r.d(60))
	for first.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if first.Load() == 0 {
		return fmt.Errorf("alice sent no conclude in %v", r.d(60))
	}
	time.Sleep(time.Until(time.Unix(0, first.Load()).Add(window)))
	after, err := r.snapshot()
	if err != nil {
		return err
	}
	fmt.Printf("  held back %d Python concludes for %s\n", proxy.dropped.Load(), window)
	time.Sleep(r.d(40))
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	r.report("total", now, nil, 0, true)
	err = r.report("after the window", now, after, 0, true)
	if now.cycles(py, hs)-after.cycles(py, hs) == 0 {
		fmt.Printf("  STALL alice -> hsbob: initiator %s; responder %s\n", r.stateOf(py, "initiator", hs), r.stateOf(hs, "responder", py))
		return fmt.Errorf("alice -> hsbob: no cycle after the window")
	}
	return err
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

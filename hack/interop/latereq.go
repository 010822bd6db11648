package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"
)

// stallALateRequest: stall A's resp_confirm shape (docs/protocol.md §6.1).
// Once alice -> hsbob has cycled, the next confirm hsbob sends arms a
// proxy that holds back every request the Python initiator sends for one
// state timeout + 2 s, so hsbob's responder times out in resp_confirm
// before the first request of the cycle reaches it. The reference has no
// timeouts: alice re-sends that request (echoing the old confirm's nonce,
// sealed under a key hsbob no longer has) in init_exchange forever unless
// our responder answers it. The pair must cycle again afterwards.
func stallALateRequest(r *run) error {
	window := r.stateTimeout + 2*time.Second
	ourConfirm := []byte(`"intent":"confirm"`)     // our agents' compact JSON
	pythonRequest := []byte(`"intent": "request"`) // Python's json.dumps separators
	var ready, armed atomic.Bool
	var first atomic.Int64
	hold := func(line []byte) bool {
		if ready.Load() && bytes.Contains(line, ourConfirm) {
			armed.Store(true)
			return false
		}
		if !armed.Load() || !bytes.Contains(line, pythonRequest) {
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
	if err := r.waitCycles(py, hs, 1, r.d(90)); err != nil {
		return err
	}
	ready.Store(true)
	deadline := time.Now().Add(r.d(60))
	for first.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if first.Load() == 0 {
		return fmt.Errorf("alice sent no request after hsbob's confirm in %v", r.d(60))
	}
	time.Sleep(time.Until(time.Unix(0, first.Load()).Add(window)))
	after, err := r.snapshot()
	if err != nil {
		return err
	}
	fmt.Printf("  held back %d Python requests for %s\n", proxy.dropped.Load(), window)
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

package main

import (
	"bytes"
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
	return r.cycleAfterHold(&first, window, proxy, "request", py, hs)
}

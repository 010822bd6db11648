package main

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // reads the Python agents' SQLite files for stall reports
)

// mixedFleet: 2 Python + 3 hsfleet agents on our relay; every directed
// pair must complete cycles. With faults, a proxy drops and delays lines
// and one hsfleet agent is killed and restarted; then the faults stop and
// every pair must cycle again (a pair that does not has stalled for good).
func mixedFleet(r *run, faults bool) error {
	relayAddr := pythonRelayAddr
	var proxy *faultProxy
	if faults {
		var err error
		if relayAddr, err = freeAddr(); err != nil {
			return err
		}
	}
	if _, err := r.startOurRelay(relayAddr); err != nil {
		return err
	}
	if faults {
		var err error
		proxy, err = startFaultProxy(pythonRelayAddr, relayAddr, 0.02, 0.05, 500*time.Millisecond, nil)
		if err != nil {
			return err
		}
		r.extra = proxy.close
	}
	for _, n := range []string{"alice", "bob"} {
		if _, err := r.startPython(n); err != nil {
			return err
		}
	}
	var hs []*agent
	for _, n := range []string{"hscarol", "hsdave", "hserin"} {
		a, err := r.startHsfleet(n, pythonRelayAddr)
		if err != nil {
			return err
		}
		hs = append(hs, a)
	}
	if !faults {
		time.Sleep(r.d(50))
		if err := r.alive(); err != nil {
			return err
		}
		now, err := r.snapshot()
		if err != nil {
			return err
		}
		errTotal := r.report("total", now, nil, 0, false)
		for _, a := range r.agents { // stopped, so their databases can be read
			a.p.stop(5 * time.Second)
		}
		// Every pair with an hsfleet side must have cycled. A pair of two
		// Python agents that never did is the reference's own race (seen
		// once in five runs: alice -> bob 0 cycles while bob -> alice had
		// 4; python-pair-our-relay covers two Python agents on our relay).
		return errors.Join(errTotal, r.stalls(now, nil, func(a, b *agent) bool { return a.python && b.python }))
	}

	time.Sleep(r.d(20))
	fmt.Printf("  killing %s (SIGKILL) mid-cycle\n", hs[0].name)
	hs[0].p.kill()
	time.Sleep(r.d(2))
	var err error
	if hs[0].p, err = hs[0].start(); err != nil {
		return err
	}
	time.Sleep(r.d(23))
	proxy.on.Store(false)
	fmt.Printf("  faults off: %d lines dropped, %d passed\n", proxy.dropped.Load(), proxy.passed.Load())
	faulty, err := r.snapshot()
	if err != nil {
		return err
	}
	time.Sleep(r.d(45))
	if err := r.alive(); err != nil {
		return err
	}
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	// Verify failures are expected under faults: a killed agent loses its
	// in-memory session keys, and a Python peer re-sending an hs after our
	// side moved on is rejected as a replay. Reported; fatal with -strict.
	errTotal := r.report("total", now, nil, 0, !r.strict)
	errAfter := r.report("after faults", now, faulty, 0, !r.strict)
	for _, a := range r.agents { // stopped, so their databases can be read
		a.p.stop(5 * time.Second)
	}
	return errors.Join(errTotal, errAfter, r.stalls(now, faulty, func(a, b *agent) bool { return a.python || b.python }))
}

// stalls finds pairs that completed no cycle since the snapshot (nil: at
// all). A stall of a pair known(initiator, responder) calls a known
// reference stall is reported with both sides' state and fails only with
// -strict; any other stall fails.
func (r *run) stalls(now, since snapshot, known func(a, b *agent) bool) error {
	var errs []error
	for _, p := range r.pairs() {
		if now.cycles(p[0], p[1])-since.cycles(p[0], p[1]) > 0 {
			continue
		}
		state := fmt.Sprintf("%s(%s) -> %s(%s) stalled: initiator %s; responder %s", p[0].name, kind(p[0]), p[1].name, kind(p[1]),
			r.stateOf(p[0], "initiator", p[1]), r.stateOf(p[1], "responder", p[0]))
		if known(p[0], p[1]) {
			fmt.Printf("  KNOWN-STALL %s\n", state)
			if r.strict {
				errs = append(errs, errors.New(state))
			}
			continue
		}
		errs = append(errs, errors.New(state))
	}
	return errors.Join(errs...)
}

// stateOf describes one side of a conversation from its own database.
func (r *run) stateOf(a *agent, role string, peer *agent) string {
	path := r.dbPath(a.name)
	if a.python {
		path = filepath.Join(r.kit, "agents", "agent_HSAgent_1", "HSAgent-"+a.id+".db")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var state sql.NullString
	var exch, fin sql.NullInt64
	var ln, pn, lr, pr sql.NullString
	err = db.QueryRow(`SELECT state, exchange_count, finalize_retry_count, local_nonce, peer_nonce, local_reference, peer_reference
		FROM role_state WHERE self_id = ? AND role = ? AND peer_id = ?`, a.id, role, peer.id).
		Scan(&state, &exch, &fin, &ln, &pn, &lr, &pr)
	if err != nil {
		return "no row (" + err.Error() + ")"
	}
	return strings.Join([]string{"state=" + state.String, fmt.Sprintf("exchange=%d finalize_retry=%d", exch.Int64, fin.Int64),
		"local_nonce=" + ln.String, "peer_nonce=" + pn.String, "local_ref=" + lr.String, "peer_ref=" + pr.String}, " ")
}

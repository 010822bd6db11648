package main

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

type scenario struct {
	name string
	fn   func(*run) error
}

var scenarios = []scenario{
	{"python-pair-our-relay", pythonPairOurRelay},
	{"python-claims-bundle-id", pythonClaimsBundleID},
	{"mixed-pair-python-relay", func(r *run) error { return mixedPair(r, false) }},
	{"mixed-pair-our-relay", func(r *run) error { return mixedPair(r, true) }},
	{"mixed-fleet", func(r *run) error { return mixedFleet(r, false) }},
	{"mixed-fleet-faults", func(r *run) error { return mixedFleet(r, true) }},
	{"stall-a-lost-conclude", stallALostConclude},
	{"lost-respond-restart", lostRespondRestart},
	{"stall-a-late-request", stallALateRequest},
}

// snapshot is every agent's counts at one moment.
type snapshot map[string]counts

func (r *run) snapshot() (snapshot, error) {
	s := snapshot{}
	for _, a := range r.agents {
		c, err := r.count(a)
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", a.name, err)
		}
		s[a.name] = c
	}
	return s, nil
}

// cycles is the number of completed cycles with from as initiator and to
// as responder, as the responder counted them (CLOSE SUCCESS / its row).
func (s snapshot) cycles(from, to *agent) int { return s[to.name].responder[from.id] }

// pairs lists every directed pair of the run's agents.
func (r *run) pairs() [][2]*agent {
	var out [][2]*agent
	for _, a := range r.agents {
		for _, b := range r.agents {
			if a != b {
				out = append(out, [2]*agent{a, b})
			}
		}
	}
	return out
}

func kind(a *agent) string {
	if a.python {
		return "py"
	}
	return "hs"
}

// report prints cycles per directed pair (responder-counted, initiator
// count in brackets) and checks each against min, envelopes opened by
// Python agents and zero verify failures (unless failuresOK). since, when
// not nil, is subtracted (cycles and failures during a phase).
func (r *run) report(label string, now, since snapshot, min int, failuresOK bool) error {
	var errs []error
	total := 0
	for _, p := range r.pairs() {
		n, ni := now.cycles(p[0], p[1]), now[p[0].name].initiator[p[1].id]
		if since != nil {
			n -= since.cycles(p[0], p[1])
			ni -= since[p[0].name].initiator[p[1].id]
		}
		total += n
		fmt.Printf("  %s %s(%s) -> %s(%s): %d cycles (initiator saw %d)\n", label, p[0].name, kind(p[0]), p[1].name, kind(p[1]), n, ni)
		if n < min {
			errs = append(errs, fmt.Errorf("%s -> %s: %d cycles %s, want >= %d", p[0].name, p[1].name, n, label, min))
		}
	}
	fmt.Printf("  %s total: %d cycles\n", label, total)
	for _, a := range r.agents {
		c := now[a.name]
		if a.python && since == nil {
			fmt.Printf("  %s %s: %d envelopes opened, %d verify failures\n", label, a.name, c.opened, c.failures)
			if c.opened == 0 {
				errs = append(errs, fmt.Errorf("%s opened no secure envelope", a.name))
			}
		}
		failures := c.failures
		if since != nil {
			failures -= since[a.name].failures
		}
		if failures > 0 {
			fmt.Printf("  %s %s: %d verify failures\n", label, a.name, failures)
			if !failuresOK {
				errs = append(errs, fmt.Errorf("%s logged %d verify failures %s", a.name, failures, label))
			}
		}
	}
	return errors.Join(errs...)
}

// alive fails when an agent process has exited.
func (r *run) alive() error {
	var dead []string
	for _, a := range r.agents {
		if !a.p.alive() {
			dead = append(dead, fmt.Sprintf("%s (%v, log %s)", a.name, a.p.err, a.p.log))
		}
	}
	if dead != nil {
		return fmt.Errorf("agents exited: %s", strings.Join(dead, ", "))
	}
	return nil
}

// pythonPairOurRelay: two Python agents through `hsfleet relay`, and the
// lines that used to kill them sent midway. The relay has a trust bundle
// (of an hsfleet agent that is not running), as the chart deploys it:
// Python agents are served unauthenticated and none of their lines is
// dropped for it.
func pythonPairOurRelay(r *run) error {
	ghost, err := r.newHsfleet("ghost", pythonRelayAddr)
	if err != nil {
		return err
	}
	relay, err := r.startAuthRelay(pythonRelayAddr, ghost)
	if err != nil {
		return err
	}
	for _, n := range []string{"alice", "bob"} {
		if _, err := r.startPython(n); err != nil {
			return err
		}
	}
	before, err := r.waitFirstCycle(r.d(30))
	if err != nil {
		return err
	}
	if err := sendBadLines(pythonRelayAddr); err != nil {
		return err
	}
	time.Sleep(r.d(25))
	if err := r.alive(); err != nil {
		return fmt.Errorf("after the bad lines: %w", err)
	}
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	// Two reference agents can stall each other with no fault at all (see
	// docs/interop.md), so one pair may stop; the bad lines must not stop
	// both, nor end either agent.
	after := 0
	for _, p := range r.pairs() {
		after += now.cycles(p[0], p[1]) - before.cycles(p[0], p[1])
	}
	var errAfter error
	if after == 0 {
		errAfter = errors.New("no cycle after the bad lines")
	}
	drops, errDrops := relay.metric(metricUnauthDrops)
	if errDrops == nil && drops > 0 {
		errDrops = fmt.Errorf("the relay dropped %v Python lines as unauthenticated_id", drops)
	}
	return errors.Join(r.report("total", now, nil, 1, false), r.report("after bad lines", now, before, 0, false), errAfter, errDrops)
}

// errReferenceStall: the two reference agents stalled each other before
// the scenario did anything to them (docs/interop.md, no fault needed);
// runAll runs such a scenario once more on a fresh kit.
var errReferenceStall = errors.New("the reference agents completed no cycle before the bad lines (reference stall)")

// waitFirstCycle polls until any pair has completed a cycle (a Python
// pair's first takes ~11 s) and returns that snapshot.
func (r *run) waitFirstCycle(limit time.Duration) (snapshot, error) {
	deadline := time.Now().Add(limit)
	for {
		s, err := r.snapshot()
		if err != nil {
			return nil, err
		}
		for _, p := range r.pairs() {
			if s.cycles(p[0], p[1]) > 0 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errReferenceStall
		}
		time.Sleep(time.Second)
	}
}

// mixedPair: one hsfleet agent and one Python agent, both roles, on the
// Python relay or ours.
func mixedPair(r *run, ours bool) error {
	var err error
	if ours {
		_, err = r.startOurRelay(pythonRelayAddr)
	} else {
		_, err = r.startPythonRelay()
	}
	if err != nil {
		return err
	}
	if _, err := r.startPython("alice"); err != nil {
		return err
	}
	if _, err := r.startHsfleet("hsbob", pythonRelayAddr); err != nil {
		return err
	}
	time.Sleep(r.d(35))
	if err := r.alive(); err != nil {
		return err
	}
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	return r.report("total", now, nil, 2, false)
}

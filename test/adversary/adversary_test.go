package adversary

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// forgery is one forging attack of TestForgery.
type forgery struct {
	name string
	// defended: the attack fails against this base. false skips it with
	// the observation below, until the engine's fix lands; flip it to
	// true (or run with HSFLEET_ADVERSARY_ALL=1) to check.
	defended bool
	// seen is what the attack achieved on the base that last failed it.
	seen    string
	opts    worldOptions
	install func(*world)
	// oracles beyond the common ones (forged counts, count agreement,
	// genuine echoes, cycling, readiness).
	oracles []func(*world) []string
}

var forgeries = []forgery{
	// Control: the attacker only watches (plus prodX); every oracle must
	// hold, or the oracles themselves are wrong.
	{name: "Control", defended: true, install: func(*world) {}},
	// Combined: every attack below at once, in one world. It runs by
	// default; the attacks one by one run with HSFLEET_ADVERSARY_ALL=1
	// (they take ~40 s together; the default run stays ~25 s).
	{name: "Combined", defended: true, opts: worldOptions{cycleEvery: 600 * time.Millisecond},
		install: combine(readdressConfirm, replayHSAcrossPairs, forgedFinish, forgedClose, forgedConcludeClose,
			abortFinalize, forgedReconnect, moveSec, forgedBoot, replayBoot),
		oracles: []func(*world) []string{(*world).reconnectsGenuine, (*world).noBootRestarts}},
	{name: "ReaddressConfirm", defended: true, install: readdressConfirm},
	{name: "ReplayHSAcrossPairs", defended: true, install: replayHSAcrossPairs},
	{name: "ForgedFinish", defended: true, install: forgedFinish},
	{name: "ForgedClose", defended: true, install: forgedClose, opts: worldOptions{cycleEvery: 300 * time.Millisecond}},
	{name: "ForgedConcludeClose", defended: true, install: forgedConcludeClose},
	{name: "AbortResponderFinalize", defended: true, install: abortFinalize},
	{name: "ForgedReconnect", defended: true, install: forgedReconnect, opts: worldOptions{cycleEvery: 600 * time.Millisecond},
		oracles: []func(*world) []string{(*world).reconnectsGenuine}},
	{name: "MoveSec", defended: true, install: moveSec},
	{name: "ForgedBoot", defended: true, install: forgedBoot,
		oracles: []func(*world) []string{(*world).noBootRestarts}},
	{name: "ReplayBoot", defended: true, install: replayBoot,
		oracles: []func(*world) []string{(*world).noBootRestarts}},
}

// slack is added to "within one state timeout" for scheduling on a loaded
// 2-core machine: an honest cycle takes tens of milliseconds.
const slack = time.Second

// TestForgery runs each forging attack (issue 12 items 1-3) against three
// honest fleet-mode agents and X, a bundle member that never runs.
func TestForgery(t *testing.T) {
	for _, f := range forgeries {
		t.Run(f.name, func(t *testing.T) {
			skipUndefended(t, f.defended, f.name, f.seen)
			if f.name != "Control" && f.name != "Combined" && !runUndefended() {
				t.Skip("covered by Combined; HSFLEET_ADVERSARY_ALL=1 runs it alone")
			}
			w := newWorld(t, f.opts)
			w.warmUp()
			stop := make(chan struct{})
			w.ready.arm(true)
			start := time.Now()
			f.install(w)
			prodX(w, stop)
			w.watchRows(stop)
			time.Sleep(2 * w.opts.stateTimeout)
			end := time.Now()
			close(stop)
			w.att.onLine(nil)
			w.ready.arm(false)
			w.stopAgents()

			var v []string
			v = append(v, w.noForgedCounts()...)
			v = append(v, w.countsAgree()...)
			v = append(v, w.echoesGenuine()...)
			v = append(v, w.rowsGenuine()...)
			v = append(v, w.verifiedGenuine()...)
			v = append(v, w.keptCycling(w.ids(), start, end, w.opts.stateTimeout+slack)...)
			v = append(v, w.ready.violations()...)
			for _, o := range f.oracles {
				v = append(v, o(w)...)
			}
			report(t, w, v)
		})
	}
}

func skipUndefended(t *testing.T, defended bool, name, seen string) {
	t.Helper()
	if !defended && !runUndefended() {
		t.Skipf("issue 12: %s not yet defended on this base (seen: %s) — see docs/protocol.md §6.2 and test/adversary/README.md; HSFLEET_ADVERSARY_ALL=1 runs it", name, seen)
	}
}

// report fails t with every violation, and logs what the attacker did.
func report(t *testing.T, w *world, v []string) {
	t.Helper()
	t.Logf("attacker sent %d forged lines (%d not queued), saw %d genuine lines",
		w.att.sent.Load(), w.att.sendFailed.Load(), len(w.att.recorded()))
	logMetrics(t, w)
	for _, s := range v {
		t.Error(s)
	}
}

// logMetrics logs each agent's non-zero drop, ignore and store-error
// counters: the evidence of which check stopped (or missed) an attack.
func logMetrics(t *testing.T, w *world) {
	t.Helper()
	for _, a := range w.agentsNow() {
		reg := prometheus.NewRegistry()
		m := a.eng.Metrics()
		reg.MustRegister(m.RejectedLines, m.Ignored, m.StoreErrors, m.Handshakes, m.Timeouts)
		fams, err := reg.Gather()
		if err != nil {
			t.Logf("gather metrics of %s: %v", short(a.id.ID), err)
			continue
		}
		var parts []string
		for _, f := range fams {
			for _, mt := range f.GetMetric() {
				if mt.GetCounter().GetValue() == 0 {
					continue
				}
				var labels []string
				for _, l := range mt.GetLabel() {
					labels = append(labels, l.GetValue())
				}
				parts = append(parts, fmt.Sprintf("%s{%s}=%g", strings.TrimPrefix(f.GetName(), "hsfleet_agent_"),
					strings.Join(labels, ","), mt.GetCounter().GetValue()))
			}
		}
		t.Logf("agent %s: %s", short(a.id.ID), strings.Join(parts, " "))
	}
}

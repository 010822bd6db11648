package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// fleetRun holds what the watch loop measures. Memory is bounded: one
// number per progress interval, one sample per child.
type fleetRun struct {
	o     *options
	mon   *monitor
	relay *child
	// relayMetrics is the relay's /metrics URL, read once at the end.
	relayMetrics string
	agents       []*child
	logs         *logCounter
	pairsTotal   int64

	start       time.Time
	first, last dbSample
	convergedAt time.Duration // 0: not converged
	peakConns   int64
	rates       []float64 // cycles/s per progress interval
	agentProcs  map[int]procSample
	relayProc   procSample
	peakRSS     int64
	peakPrivate int64 // private RSS (smaps_rollup) summed over the agents
	exited      []string

	// server is PostgreSQL's processes, for its CPU in the window.
	server serverProcs
	// With -duration: the window's first snapshot, and the window once
	// closed.
	winStart *snapshot
	win      *window
	// sp starts perf (-perf) for the window; perf is the recording.
	sp   *spawner
	perf *perfRecording
	// gate spaces the agents' starts; connectTimeout is their DSN's.
	gate           *startGate
	connectTimeout string
}

func newRun(o *options, sp *spawner, mon *monitor, relay *child, logs *logCounter) *fleetRun {
	return &fleetRun{o: o, sp: sp, mon: mon, relay: relay, logs: logs,
		pairsTotal: int64(o.n) * int64(o.n-1), agentProcs: map[int]procSample{}}
}

// begin takes the counters' starting values just before the first agent.
func (r *fleetRun) begin(ctx context.Context) error {
	s, err := r.mon.sample(ctx)
	if err != nil {
		return fmt.Errorf("first sample: %w", err)
	}
	r.first, r.last = s, s
	r.start = time.Now()
	return nil
}

// watch samples until convergence plus the settle window, the timeout, the
// relay's death or an interrupt. It reports whether the fleet converged.
func (r *fleetRun) watch(ctx context.Context) bool {
	tick := time.NewTicker(r.o.sample)
	defer tick.Stop()
	deadline := r.start.Add(r.o.timeout)
	lastPrint, lastPrintAt := r.first, r.start
	var settleEnd time.Time
	for {
		select {
		case <-ctx.Done():
			fmt.Println("fleetbench: interrupted")
			return false
		case now := <-tick.C:
			if r.o.duration > 0 && r.windowTick(ctx, now) {
				return r.convergedAt > 0
			}
			r.sampleProcs()
			s, err := r.mon.sample(ctx)
			if err != nil {
				fmt.Println("fleetbench: sample:", err)
				continue
			}
			r.last = s
			r.peakConns = max(r.peakConns, s.connections)
			if r.convergedAt == 0 && s.pairsDone >= r.pairsTotal {
				r.convergedAt = now.Sub(r.start)
				settleEnd = now.Add(r.o.settle)
				fmt.Printf("fleetbench: CONVERGED: all %d directed pairs cycled after %.1fs\n", r.pairsTotal, r.convergedAt.Seconds())
			}
			if now.Sub(lastPrintAt) >= r.o.interval-r.o.sample/2 {
				r.progress(lastPrint, s, now.Sub(lastPrintAt), now)
				lastPrint, lastPrintAt = s, now
			}
			if !r.relay.running() {
				fmt.Printf("fleetbench: relay exited (%v): %s\n", r.relay.err, r.logs.last("relay"))
				return false
			}
			if r.o.duration > 0 {
				continue // the window decides when to stop
			}
			if r.convergedAt != 0 && now.After(settleEnd) {
				return true
			}
			if r.convergedAt == 0 && now.After(deadline) {
				fmt.Printf("fleetbench: TIMEOUT: %d of %d directed pairs cycled after %v\n", s.pairsDone, r.pairsTotal, r.o.timeout)
				return false
			}
		}
	}
}

// windowTick opens the measuring window -warmup after the first agent
// start and closes it -duration later; it reports whether the run is over.
func (r *fleetRun) windowTick(ctx context.Context, now time.Time) bool {
	switch {
	case r.winStart == nil && now.Sub(r.start) >= r.o.warmup:
		sn, err := r.snapshot(ctx)
		if err != nil {
			fmt.Println("fleetbench: window snapshot:", err)
			return false
		}
		r.winStart = &sn
		fmt.Printf("fleetbench: window opens at t=%.1fs for %v (pairs %d/%d), load %s\n",
			sn.at.Sub(r.start).Seconds(), r.o.duration, sn.db.pairsDone, r.pairsTotal, loadAverage())
		if r.o.perf != "" {
			if r.perf, err = startPerf(r.sp, r.o.perf, r.agents); err != nil {
				fmt.Println("fleetbench:", err)
			}
		}
	case r.winStart != nil && now.Sub(r.winStart.at) >= r.o.duration:
		sn, err := r.snapshot(ctx)
		if err != nil {
			fmt.Println("fleetbench: window snapshot:", err)
			return false
		}
		w := between(*r.winStart, sn)
		r.win = &w
		fmt.Printf("fleetbench: window closes at t=%.1fs, load %s\n", sn.at.Sub(r.start).Seconds(), loadAverage())
		r.stopPerf()
		return true
	}
	return false
}

// stopPerf ends a -perf recording and says where it is.
func (r *fleetRun) stopPerf() {
	if r.perf == nil {
		return
	}
	if err := r.perf.stop(); err != nil {
		fmt.Println("fleetbench:", err)
	} else {
		fmt.Printf("fleetbench: agents' perf profile over the window in %s (perf report -i %s --no-children --sort sym)\n", r.perf.file, r.perf.file)
	}
	r.perf = nil
}

func (r *fleetRun) sampleProcs() {
	var rss, private int64
	for _, c := range r.agents {
		if !c.running() {
			continue
		}
		if p, err := readProc(c.pid()); err == nil {
			r.agentProcs[c.pid()] = p
		}
	}
	for _, p := range r.agentProcs {
		rss += p.rssBytes
		private += max(p.privateBytes, 0)
	}
	r.peakRSS = max(r.peakRSS, rss)
	r.peakPrivate = max(r.peakPrivate, private)
	if p, err := readProc(r.relay.pid()); err == nil {
		r.relayProc = p
	}
	for _, c := range r.agents {
		if !c.running() && !contains(r.exited, c.name) {
			r.exited = append(r.exited, c.name)
			fmt.Printf("fleetbench: agent %s exited (%v): %s\n", c.name, c.err, r.logs.last(c.name))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// agentUsage is the agents' CPU seconds, and their RSS and private RSS
// (only the agents whose smaps_rollup was read).
func (r *fleetRun) agentUsage() (sum float64, rss, private []int64) {
	for _, p := range r.agentProcs {
		sum += p.cpuSeconds
		rss = append(rss, p.rssBytes)
		if p.privateBytes >= 0 {
			private = append(private, p.privateBytes)
		}
	}
	return sum, rss, private
}

func (r *fleetRun) progress(prev, s dbSample, dt time.Duration, now time.Time) {
	cycles := s.cycles - prev.cycles
	rate := float64(cycles) / dt.Seconds()
	r.rates = append(r.rates, rate)
	perCycle := "-"
	if cycles > 0 {
		perCycle = fmt.Sprintf("%.1f", float64(s.xactCommit-prev.xactCommit)/float64(cycles))
	}
	cpu, rss, private := r.agentUsage()
	fmt.Printf("t=%6.1fs pairs %6d/%d  cycles %8d  %7.1f cycles/s  conns %4d (peak %d)  commits/cycle %5s  agents CPU %7.1fs RSS %6.0f MiB (private %6.0f)  relay CPU %6.1fs  load %s\n",
		now.Sub(r.start).Seconds(), s.pairsDone, r.pairsTotal, s.cycles, rate, s.connections, r.peakConns, perCycle,
		cpu, float64(sumInt(rss))/(1<<20), float64(sumInt(private))/(1<<20), r.relayProc.cpuSeconds, loadAverage())
}

func sumInt(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

// report prints the summary; its error says the measured cycles were not
// of the -expect kind.
func (r *fleetRun) report(ctx context.Context) error {
	elapsed := time.Since(r.start)
	upd, hot, hotErr := r.mon.hotUpdates(ctx)
	s := r.last
	cycles := s.cycles - r.first.cycles
	commits := s.xactCommit - r.first.xactCommit - r.mon.ownCommits
	cpu, rss, private := r.agentUsage()
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	sort.Slice(private, func(i, j int) bool { return private[i] < private[j] })
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }

	var b strings.Builder
	fmt.Fprintf(&b, "\n== fleetbench summary: N=%d, relay %s, trust %s, agent args %q, agent env %q, load average now %s\n",
		r.o.n, relayMode(r.o), r.o.trustMode, r.o.agentArgs, r.o.agentEnv, loadAverage())
	if r.convergedAt > 0 {
		fmt.Fprintf(&b, "converged:            all %d directed pairs after %.1f s\n", r.pairsTotal, r.convergedAt.Seconds())
	} else {
		fmt.Fprintf(&b, "converged:            NO: %d of %d directed pairs after %.1f s\n", s.pairsDone, r.pairsTotal, elapsed.Seconds())
	}
	fmt.Fprintf(&b, "cycles:               %d in %.1f s = %.1f cycles/s (initiator side, one per cycle)\n",
		cycles, elapsed.Seconds(), float64(cycles)/elapsed.Seconds())
	if peak, minAfter := peakAndMinAfter(r.rates); peak > 0 {
		fmt.Fprintf(&b, "cycles/s per %v:     peak %.1f, lowest after the peak %.1f (%.0f%% of peak)\n",
			r.o.interval, peak, minAfter, 100*minAfter/peak)
	}
	whole := window{cycles: cycles, verified: s.verified - r.first.verified, hasVerified: s.hasVerified}
	fmt.Fprintf(&b, "cycle kinds:          %s\n", whole.kinds())
	fmt.Fprintf(&b, "peak connections:     %d server connections (%.2f per agent; sampled every %v)\n",
		r.peakConns, float64(r.peakConns)/float64(r.o.n), r.o.sample)
	if cycles > 0 {
		fmt.Fprintf(&b, "commits per cycle:    %.2f (%d commits in the fleet database, the harness's own %d taken out)\n",
			float64(commits)/float64(cycles), commits, r.mon.ownCommits)
		fmt.Fprintf(&b, "agent CPU per cycle:  %.2f ms (%.1f CPU s over all agents)\n", 1000*cpu/float64(cycles), cpu)
		fmt.Fprintf(&b, "relay CPU per cycle:  %.2f ms (%.1f CPU s)\n", 1000*r.relayProc.cpuSeconds/float64(cycles), r.relayProc.cpuSeconds)
	}
	measured, windowResult := whole, ""
	if r.win != nil {
		r.win.report(&b, fmt.Sprintf("window (after %v):", r.o.warmup))
		measured, windowResult = *r.win, r.win.result()
	} else if r.o.duration > 0 {
		fmt.Fprintf(&b, "window:               not completed\n")
		measured, windowResult = window{}, " window_s=0"
	}
	rl := r.relayLines()
	rl.report(&b, r.o.n, cycles)
	if hotErr == nil && upd > 0 {
		fmt.Fprintf(&b, "role_state updates:   %d, %.1f%% HOT (no index writes)\n", upd, 100*float64(hot)/float64(upd))
	}
	if len(rss) > 0 {
		fmt.Fprintf(&b, "agent RSS:            sum %.0f MiB (peak %.0f MiB); per agent min %.1f / median %.1f / max %.1f MiB\n",
			mib(sumInt(rss)), mib(r.peakRSS), mib(rss[0]), mib(rss[len(rss)/2]), mib(rss[len(rss)-1]))
	}
	if len(private) > 0 {
		fmt.Fprintf(&b, "agent private RSS:    sum %.0f MiB (peak %.0f MiB); per agent min %.1f / median %.1f / max %.1f MiB (RSS less the pages shared with other processes, e.g. the binary's text)\n",
			mib(sumInt(private)), mib(r.peakPrivate), mib(private[0]), mib(private[len(private)/2]), mib(private[len(private)-1]))
	}
	r.reportStarts(&b)
	if len(r.exited) > 0 {
		fmt.Fprintf(&b, "agents that exited:   %d (%s)\n", len(r.exited), strings.Join(r.exited, " "))
	}
	top, other := r.logs.top(12)
	fmt.Fprintf(&b, "log lines by level and message (all children):\n")
	for _, c := range top {
		fmt.Fprintf(&b, "  %9d  %s\n", c.n, c.key)
	}
	header := "first line of each warning and error above:\n"
	for _, c := range top {
		if strings.HasPrefix(c.key, "WARN") || strings.HasPrefix(c.key, "ERROR") {
			fmt.Fprintf(&b, "%s  %s\n", header, c.sample)
			header = ""
		}
	}
	if other > 0 {
		fmt.Fprintf(&b, "  %9d  (other)\n", other)
	}
	verified := "na"
	if whole.hasVerified {
		verified = fmt.Sprint(whole.verified)
	}
	fmt.Fprintf(&b, "RESULT n=%d relay=%s converged=%t converge_s=%.1f pairs=%d/%d cycles_per_s=%.1f peak_conns=%d commits_per_cycle=%.2f agent_cpu_ms_per_cycle=%.2f agent_rss_mib=%.0f agent_private_mib=%.0f relay_lines_per_agent=%.0f relay_lines_per_cycle=%.1f cycles=%d verified=%s db_unreachable=%d%s\n",
		r.o.n, relayMode(r.o), r.convergedAt > 0, r.convergedAt.Seconds(), s.pairsDone, r.pairsTotal,
		float64(cycles)/elapsed.Seconds(), r.peakConns, ratio(commits, cycles), 1000*cpu/float64(max(cycles, 1)), mib(sumInt(rss)), mib(sumInt(private)),
		rl.sent/float64(r.o.n), rl.sent/float64(max(cycles, 1)), cycles, verified, r.logs.dbUnreachable(), windowResult)
	fmt.Print(b.String())
	return measured.expectKind(r.o.expect)
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// peakAndMinAfter: the overload criterion is that throughput never falls
// below half its peak once it has peaked.
func peakAndMinAfter(rates []float64) (peak, minAfter float64) {
	at := -1
	for i, r := range rates {
		if r > peak {
			peak, at = r, i
		}
	}
	if at < 0 {
		return 0, 0
	}
	minAfter = peak
	for _, r := range rates[at:] {
		minAfter = min(minAfter, r)
	}
	return peak, minAfter
}

// reportStarts: how often the agents failed to open their store, and how
// their starts were spaced.
func (r *fleetRun) reportStarts(b *strings.Builder) {
	gate := "agents started " + startLimit(r.o.startConcurrency)
	if n := r.gate.byLimit.Load(); n > 0 {
		gate += fmt.Sprintf("; %d start slots freed after %v without %q", n, startSlotLimit, agentUpMsg)
	}
	fmt.Fprintf(b, "database not reachable: %d agent log lines (store opens retried; connect_timeout=%s, %s)\n",
		r.logs.dbUnreachable(), r.connectTimeout, gate)
}

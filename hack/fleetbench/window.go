package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// snapshot is every counter a measuring window subtracts: with -duration
// the figures that compare two builds come from the steady state between
// two snapshots, not from the start-up (identity unsealing, row creation).
type snapshot struct {
	at         time.Time
	db         dbSample
	ownCommits int64 // the harness's own commits so far
	agentCPU   float64
	relayCPU   float64
	serverCPU  float64
	serverErr  error
}

func (r *fleetRun) snapshot(ctx context.Context) (snapshot, error) {
	r.sampleProcs()
	s, err := r.mon.sample(ctx)
	if err != nil {
		return snapshot{}, err
	}
	r.last = s
	cpu, _, _ := r.agentUsage()
	sn := snapshot{at: time.Now(), db: s, ownCommits: r.mon.ownCommits, agentCPU: cpu, relayCPU: r.relayProc.cpuSeconds}
	sn.serverCPU, sn.serverErr = r.server.cpu()
	return sn, nil
}

// window is the difference of two snapshots.
type window struct {
	seconds                       float64
	cycles, verified, commits     int64
	hasVerified                   bool
	agentCPU, relayCPU, serverCPU float64
	serverErr                     error
}

func between(a, b snapshot) window {
	w := window{
		seconds:     b.at.Sub(a.at).Seconds(),
		cycles:      b.db.cycles - a.db.cycles,
		verified:    b.db.verified - a.db.verified,
		hasVerified: a.db.hasVerified && b.db.hasVerified,
		// Both snapshots' own queries ran before their commit counter
		// was read, so the harness's share is exactly the difference.
		commits:   b.db.xactCommit - a.db.xactCommit - (b.ownCommits - a.ownCommits),
		agentCPU:  b.agentCPU - a.agentCPU,
		relayCPU:  b.relayCPU - a.relayCPU,
		serverCPU: b.serverCPU - a.serverCPU,
		serverErr: a.serverErr,
	}
	if w.serverErr == nil {
		w.serverErr = b.serverErr
	}
	return w
}

// perCycleMS is CPU milliseconds per completed cycle.
func (w window) perCycleMS(cpu float64) float64 {
	if w.cycles <= 0 {
		return 0
	}
	return 1000 * cpu / float64(w.cycles)
}

// kinds says how many of the window's cycles were verified, for the
// report: a run must show which kind of cycle it measured.
func (w window) kinds() string {
	if !w.hasVerified {
		return "verified unknown (no role_state.verified_cycles: a binary before transcript binding, all legacy)"
	}
	return fmt.Sprintf("%d verified, %d unverified (%.1f%% verified)", w.verified, w.cycles-w.verified,
		100*float64(w.verified)/float64(max(w.cycles, 1)))
}

// expectKind checks -expect against the window: "verified" needs every
// cycle verified, "legacy" none, and both need cycles.
func (w window) expectKind(want string) error {
	switch {
	case want == "":
		return nil
	case w.cycles <= 0:
		return fmt.Errorf("expected %s cycles, measured none", want)
	case want == "verified" && (!w.hasVerified || w.verified != w.cycles):
		return fmt.Errorf("expected only verified cycles: %s", w.kinds())
	case want == "legacy" && w.hasVerified && w.verified != 0:
		return fmt.Errorf("expected only legacy cycles: %s", w.kinds())
	}
	return nil
}

func (w window) report(b *strings.Builder, label string) {
	fmt.Fprintf(b, "%s %d cycles in %.1f s = %.1f cycles/s; %s\n", label, w.cycles, w.seconds,
		float64(w.cycles)/max(w.seconds, 1e-9), w.kinds())
	if w.cycles <= 0 {
		return
	}
	server := fmt.Sprintf("%.3f ms (%.1f CPU s)", w.perCycleMS(w.serverCPU), w.serverCPU)
	if w.serverErr != nil {
		server = "not read: " + w.serverErr.Error()
	}
	fmt.Fprintf(b, "  commits per cycle %.2f; CPU per cycle: agents %.3f ms (%.1f CPU s), relay %.3f ms (%.1f CPU s), PostgreSQL %s\n",
		float64(w.commits)/float64(w.cycles), w.perCycleMS(w.agentCPU), w.agentCPU,
		w.perCycleMS(w.relayCPU), w.relayCPU, server)
}

// result is the window's part of the RESULT line.
func (w window) result() string {
	verified := "na"
	if w.hasVerified {
		verified = fmt.Sprint(w.verified)
	}
	return fmt.Sprintf(" window_s=%.1f w_cycles=%d w_verified=%s w_cycles_per_s=%.1f w_commits_per_cycle=%.2f "+
		"w_agent_cpu_ms=%.3f w_relay_cpu_ms=%.3f w_pg_cpu_ms=%.3f",
		w.seconds, w.cycles, verified, float64(w.cycles)/max(w.seconds, 1e-9), ratio(w.commits, w.cycles),
		w.perCycleMS(w.agentCPU), w.perCycleMS(w.relayCPU), w.perCycleMS(w.serverCPU))
}

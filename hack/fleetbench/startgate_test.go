package main

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fakeAgent starts a shell that logs agentUpMsg after up (never, when up
// is 0) and then runs for stay.
func fakeAgent(t *testing.T, sp *spawner, logs *logCounter, name string, up, stay time.Duration) *child {
	t.Helper()
	script := "sleep " + secs(up) + "; echo '{\"level\":\"INFO\",\"msg\":\"" + agentUpMsg + "\"}' >&2; exec sleep " + secs(stay)
	if up == 0 {
		script = "exec sleep " + secs(stay)
	}
	c, err := startChild(sp, name, "/bin/sh", []string{"-c", script}, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll([]*child{c}, time.Second) })
	return c
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Never more than n agents between their start and their "agent started"
// line, and all of them start.
func TestStartGateBoundsAgentsStartingAtOnce(t *testing.T) {
	const n, agents = 2, 6
	sp, logs := newSpawner(), newLogCounter()
	g := newStartGate(n, 10*time.Second)
	var started []*child
	for i := 0; i < agents; i++ {
		if err := g.enter(context.Background()); err != nil {
			t.Fatal(err)
		}
		starting := 0
		for _, c := range started {
			if !isDone(c.up) && !isDone(c.exited) {
				starting++
			}
		}
		if starting >= n {
			t.Fatalf("agent %d entered with %d agents still starting, limit %d", i, starting, n)
		}
		c := fakeAgent(t, sp, logs, agentName(i), 200*time.Millisecond, 5*time.Second)
		g.holdUntilUp(c)
		started = append(started, c)
	}
	for _, c := range started {
		select {
		case <-c.up:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never logged %q", c.name, agentUpMsg)
		}
	}
	if g.byLimit.Load() != 0 {
		t.Errorf("%d slots freed by the limit, want none", g.byLimit.Load())
	}
}

// An agent that never says it is up (a log level above info, a store that
// never opens) holds its slot only until the limit; one that exits frees
// it at once.
func TestStartGateFreesASlotAtTheLimitOrTheExit(t *testing.T) {
	sp, logs := newSpawner(), newLogCounter()
	g := newStartGate(1, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	g.holdUntilUp(fakeAgent(t, sp, logs, "silent", 0, 5*time.Second))
	start := time.Now()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("entered %v after a silent agent, want the 300ms limit", waited)
	}
	if g.byLimit.Load() != 1 {
		t.Errorf("slots freed by the limit %d, want 1", g.byLimit.Load())
	}

	g.holdUntilUp(fakeAgent(t, sp, logs, "quits", 0, 0))
	short, stop := context.WithTimeout(ctx, 250*time.Millisecond)
	defer stop()
	if err := g.enter(short); err != nil {
		t.Errorf("no slot within 250ms of an agent's exit: %v", err)
	}
	if g.byLimit.Load() != 1 {
		t.Errorf("slots freed by the limit %d, want still 1", g.byLimit.Load())
	}

	if err := newStartGate(0, time.Hour).enter(context.Background()); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestUnreachableLinesAreCounted(t *testing.T) {
	sp, logs := newSpawner(), newLogCounter()
	c, err := startChild(sp, "a", "/bin/sh", []string{"-c", `for i in 1 2 3; do echo '{"level":"WARN","msg":"` + dbUnreachableMsg + `"}' >&2; done; echo '{"level":"INFO","msg":"other"}' >&2`}, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("child did not exit")
	}
	if got := logs.dbUnreachable(); got != 3 {
		t.Fatalf("database not reachable lines %d, want 3", got)
	}
}

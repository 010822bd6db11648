package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/trust"
)

func TestParseStatReadsParentAndTimesPastACommWithSpaces(t *testing.T) {
	// Fields after comm: state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime cutime cstime ...
	line := "4242 (postgres: a) b) S 17 4242 4242 0 -1 4194560 10 0 0 0 250 50 700 100 20 0 1 0"
	p, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if p.ppid != 17 || p.cpuSeconds != 3.0 || p.childCPUSeconds != 8.0 {
		t.Fatalf("got ppid %d cpu %v child %v, want 17 3 8", p.ppid, p.cpuSeconds, p.childCPUSeconds)
	}
	for _, bad := range []string{"1 (x S 1 2", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 1 1 1 1"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestReadStatOfThisProcessHasItsParent(t *testing.T) {
	p, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.ppid != os.Getppid() {
		t.Fatalf("ppid %d, want %d", p.ppid, os.Getppid())
	}
}

func TestWindowSubtractsTheHarnessAndReportsPerCycle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := snapshot{at: t0, db: dbSample{cycles: 100, verified: 90, hasVerified: true, xactCommit: 1000},
		ownCommits: 10, agentCPU: 1, relayCPU: 0.5, serverCPU: 2}
	b := snapshot{at: t0.Add(40 * time.Second), db: dbSample{cycles: 500, verified: 490, hasVerified: true, xactCommit: 1900},
		ownCommits: 110, agentCPU: 3, relayCPU: 0.9, serverCPU: 4}
	w := between(a, b)
	if w.cycles != 400 || w.verified != 400 || w.commits != 800 || w.seconds != 40 {
		t.Fatalf("window %+v", w)
	}
	if got := w.perCycleMS(w.agentCPU); got != 5 {
		t.Fatalf("agent ms per cycle %v, want 5", got)
	}
	res := w.result()
	for _, want := range []string{"w_cycles=400", "w_verified=400", "w_cycles_per_s=10.0", "w_commits_per_cycle=2.00", "w_agent_cpu_ms=5.000", "w_pg_cpu_ms=5.000"} {
		if !strings.Contains(res, want) {
			t.Errorf("result %q lacks %q", res, want)
		}
	}
}

func TestExpectKind(t *testing.T) {
	verified := window{cycles: 10, verified: 10, hasVerified: true}
	mixed := window{cycles: 10, verified: 9, hasVerified: true}
	legacy := window{cycles: 10, hasVerified: true}
	old := window{cycles: 10} // binary without the column: legacy
	for _, c := range []struct {
		w    window
		want string
		ok   bool
	}{
		{verified, "verified", true}, {mixed, "verified", false}, {legacy, "verified", false}, {old, "verified", false},
		{legacy, "legacy", true}, {old, "legacy", true}, {mixed, "legacy", false}, {verified, "legacy", false},
		{window{hasVerified: true}, "legacy", false}, {window{hasVerified: true}, "verified", false},
		{mixed, "", true},
	} {
		if err := c.w.expectKind(c.want); (err == nil) != c.ok {
			t.Errorf("%+v expect %q: err %v", c.w, c.want, err)
		}
	}
}

func TestBundleJSONWritesCapsTheAgentsParse(t *testing.T) {
	keys := map[string]string{"a1": strings.Repeat("B", 43) + "=", "b2": strings.Repeat("A", 43) + "="}
	data, err := bundleJSON(keys, []string{"bind1"})
	if err != nil {
		t.Fatal(err)
	}
	b, caps, err := trust.ParseBundleCaps(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2 || !caps.Has("a1", trust.CapBind1) || !caps.Has("b2", trust.CapBind1) {
		t.Fatalf("bundle %s: caps %v", data, caps)
	}
	plain, err := bundleJSON(keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, caps, err := trust.ParseBundleCaps(plain); err != nil || len(caps) != 0 {
		t.Fatalf("string form %s: caps %v err %v", plain, caps, err)
	}
	if _, err := bundleJSON(keys, []string{"Bad Cap"}); err == nil {
		t.Fatal("an invalid cap was accepted")
	}
}

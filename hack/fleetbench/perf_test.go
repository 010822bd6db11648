package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPerfNeedsTheWindow(t *testing.T) {
	if _, err := parseOptions([]string{"-perf", "agents.data"}); err == nil || !strings.Contains(err.Error(), "-duration") {
		t.Fatalf("-perf without -duration: err %v, want a -duration error", err)
	}
	o, err := parseOptions([]string{"-perf", "agents.data", "-duration", "30s"})
	if err != nil || o.perf != "agents.data" {
		t.Fatalf("-perf with -duration: %+v, %v", o, err)
	}
}

func TestPerfRecordsRunningChildrenUntilStopped(t *testing.T) {
	if _, err := exec.LookPath("perf"); err != nil {
		t.Skip("perf not installed")
	}
	sp := newSpawner()
	busy, err := startChild(sp, "busy", "/bin/sh", []string{"-c", "while :; do :; done"}, nil, newLogCounter())
	if err != nil {
		t.Fatal(err)
	}
	defer stopAll([]*child{busy}, time.Second)
	file := filepath.Join(t.TempDir(), "agents.data")
	p, err := startPerf(sp, file, []*child{busy})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	report, err := exec.Command("perf", "report", "-i", file, "--stdio", "--sort", "comm").CombinedOutput()
	if err != nil {
		t.Fatalf("perf report: %v\n%s", err, report)
	}
	if !strings.Contains(string(report), "sh") {
		t.Fatalf("perf report has no samples of the busy child:\n%s", report)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("perf file: %v, %v", fi, err)
	}
}

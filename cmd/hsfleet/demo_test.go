package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsAFleetAndPrintsASummary(t *testing.T) {
	var out bytes.Buffer
	d := &demo{out: &out, logger: slog.New(slog.DiscardHandler), dir: t.TempDir(), started: time.Now()}
	if err := d.run(context.Background(), 2, 3*time.Second); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"agent-1   -> agent-2", "agent-2   -> agent-1", "=== summary", "total cycles: ",
		"relay authentication: 2 of 2 agents proved their ID"} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q:\n%s", want, text)
		}
	}
	for pair, n := range d.cycles {
		if n == 0 {
			t.Fatalf("pair %v completed no cycle", pair)
		}
	}
	if len(d.cycles) != 2 {
		t.Fatalf("cycles for %d directed pairs, want 2", len(d.cycles))
	}
}

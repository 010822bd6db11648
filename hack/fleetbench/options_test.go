package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAgentEnvIsRepeatableAndNeedsKeyEqualsValue(t *testing.T) {
	o, err := parseOptions([]string{"-agent-env", "GOGC=50", "-agent-env=GOMEMLIMIT=20MiB", "-agent-env", "GODEBUG=a=1,b=2", "--", "--cycle-interval=1s"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOGC=50", "GOMEMLIMIT=20MiB", "GODEBUG=a=1,b=2"}; !slices.Equal(o.agentEnv, want) {
		t.Fatalf("agent env %q, want %q", o.agentEnv, want)
	}
	if !slices.Equal(o.agentArgs, []string{"--cycle-interval=1s"}) {
		t.Fatalf("agent args %q", o.agentArgs)
	}
	for _, bad := range []string{"GOGC", "=50", "GO GC=50", ""} {
		if _, err := parseOptions([]string{"-agent-env", bad}); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
			t.Errorf("-agent-env %q: err %v, want a KEY=VALUE error", bad, err)
		}
	}
}

func TestAgentEnvReachesTheChildOverTheInheritedValue(t *testing.T) {
	t.Setenv("FLEETBENCH_TEST_VALUE", "inherited")
	logs := newLogCounter()
	c, err := startChild(newSpawner(), "env", "/bin/sh", []string{"-c", `echo "$FLEETBENCH_TEST_VALUE" >&2`},
		[]string{"FLEETBENCH_TEST_VALUE=from-flag"}, logs)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("child did not exit")
	}
	if got := logs.last("env"); got != "from-flag" {
		t.Fatalf("child saw %q, want from-flag", got)
	}
}

package main

import "testing"

func TestAgentProcsDefaultsToOneUnlessTheEnvironmentSetsIt(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if n, fromEnv := agentProcs(getenv); n != 1 || fromEnv {
		t.Fatalf("default: n=%d fromEnv=%v, want 1 false", n, fromEnv)
	}
	env["GOMAXPROCS"] = "4"
	if n, fromEnv := agentProcs(getenv); n != 0 || !fromEnv {
		t.Fatalf("GOMAXPROCS=4 set: n=%d fromEnv=%v, want 0 true (left to the runtime)", n, fromEnv)
	}
}

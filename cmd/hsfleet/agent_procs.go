package main

import "runtime"

// agentProcs is the GOMAXPROCS an agent runs with: 1 unless the
// environment sets GOMAXPROCS (then the runtime already applied it and we
// leave it alone). An agent's protocol work fits one core. A fleet runs
// many agents per machine (100 on 2 cores in the fleet benchmark), and
// with one P per core each idle runtime spins in findRunnable and sysmon
// looking for work: the profile in docs/engine-scale.md put about three
// quarters of an agent's CPU per cycle in scheduling and context
// switches, not in the protocol.
func agentProcs(getenv func(string) string) (n int, fromEnv bool) {
	if getenv("GOMAXPROCS") != "" {
		return 0, true
	}
	return 1, false
}

// applyAgentProcs sets GOMAXPROCS for the `hsfleet agent` process
// (agentProcs).
func applyAgentProcs(getenv func(string) string) {
	if n, fromEnv := agentProcs(getenv); !fromEnv {
		runtime.GOMAXPROCS(n)
	}
}

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// defaultAgentTimerSlack is the kernel timer slack an agent process runs
// with (PR_SET_TIMERSLACK; Linux's default is 50 µs). The Go runtime's
// sysmon thread polls with usleep(20 µs) whenever a P is busy, and it is
// woken at the start of every busy stretch (each syscall after an idle
// spell). With many agents on a few cores a P stays busy, in wall time,
// while its thread waits for a CPU, so sysmon's wake-ups took 24 % of an
// agent's CPU in a 30-agent fleet on 2 cores (docs/fleet-bench.md). A
// 1 ms slack lets the kernel batch those sleeps to about one a
// millisecond. What it delays is harmless here: a P retaken from a slow
// syscall up to 1 ms later, and timers (retries, commit gathering) firing
// up to 1 ms late.
const defaultAgentTimerSlack = time.Millisecond

// agentTimerSlackEnv overrides defaultAgentTimerSlack with a duration;
// "0" leaves the slack the process inherited.
const agentTimerSlackEnv = "HSFLEET_AGENT_TIMER_SLACK"

// agentTimerSlack is the slack to apply, or 0 for none.
func agentTimerSlack(getenv func(string) string) (time.Duration, error) {
	v := getenv(agentTimerSlackEnv)
	if v == "" {
		return defaultAgentTimerSlack, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration from 0 to 1s", agentTimerSlackEnv, v)
	}
	return d, nil
}

// applyAgentTimerSlack gives every thread of the process the agent's timer
// slack. The runtime starts sysmon before any of our code runs, and a
// thread takes its slack from the thread that created it, so the only way
// to reach sysmon is to set the slack on this thread and exec the binary
// again (same PID, arguments and environment): the slack survives exec and
// every thread of the new image inherits it. The second start finds the
// slack already set and goes on. Any failure leaves the process as it is,
// with a line on stderr: the slack only saves CPU.
func applyAgentTimerSlack(getenv func(string) string) {
	want, err := agentTimerSlack(getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hsfleet agent: timer slack left as it is:", err)
		return
	}
	if want == 0 {
		return
	}
	cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || time.Duration(cur) >= want {
		return // already applied (this is the second start) or larger by choice
	}
	if err := setSlackAndExec(want); err != nil {
		fmt.Fprintln(os.Stderr, "hsfleet agent: timer slack left as it is:", err)
	}
}

// setSlackAndExec sets the slack on this thread and replaces the process
// image from it with the same binary (/proc/self/exe, even if the file was
// replaced since); it returns only on failure.
func setSlackAndExec(slack time.Duration) error {
	runtime.LockOSThread() // the slack is per thread: set it and exec on the same one
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0); err != nil {
		return fmt.Errorf("set timer slack to %s: %w", slack, err)
	}
	err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) // 0: back to this thread's default
	return fmt.Errorf("exec /proc/self/exe: %w", err)
}

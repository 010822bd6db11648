package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAgentTimerSlackDefaultsToOneMillisecondAndReadsTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"", time.Millisecond, false},
		{"0", 0, false},
		{"2ms", 2 * time.Millisecond, false},
		{"-1ms", 0, true},
		{"2s", 0, true},
		{"lots", 0, true},
	} {
		got, err := agentTimerSlack(func(k string) string {
			if k == agentTimerSlackEnv {
				return tc.env
			}
			return ""
		})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s=%q: got %v, %v; want %v, error %v", agentTimerSlackEnv, tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}

// timerSlackChildEnv makes the test binary act as an agent process that
// applies its timer slack and reports every thread's.
const timerSlackChildEnv = "HSFLEET_TEST_TIMERSLACK_CHILD"

func TestApplyAgentTimerSlackReachesEveryThreadThroughOneExec(t *testing.T) {
	if os.Getenv(timerSlackChildEnv) != "" {
		timerSlackChild()
		return
	}
	inherited, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env       string
		wantSlack int
		starts    int
	}{
		{"3ms", 3_000_000, 2}, // set, exec'd once, then left alone
		{"0", inherited, 1},   // opted out: no exec
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestApplyAgentTimerSlackReachesEveryThreadThroughOneExec$")
		cmd.Env = append(os.Environ(), timerSlackChildEnv+"=1", agentTimerSlackEnv+"="+tc.env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: child: %v\n%s", agentTimerSlackEnv, tc.env, err, out)
		}
		starts, slacks := 0, []string(nil)
		for _, line := range strings.Split(string(out), "\n") {
			if line == "start" {
				starts++
			}
			if s, ok := strings.CutPrefix(line, "slacks "); ok {
				slacks = strings.Fields(s)
			}
		}
		if starts != tc.starts {
			t.Errorf("%s=%s: the child started %d times, want %d\n%s", agentTimerSlackEnv, tc.env, starts, tc.starts, out)
		}
		if len(slacks) < 2 {
			t.Fatalf("%s=%s: want the slack of several threads (sysmon among them), got %q\n%s", agentTimerSlackEnv, tc.env, slacks, out)
		}
		for _, s := range slacks {
			if s != strconv.Itoa(tc.wantSlack) {
				t.Errorf("%s=%s: a thread has slack %s ns, want %d on every thread: %q", agentTimerSlackEnv, tc.env, s, tc.wantSlack, slacks)
				break
			}
		}
	}
}

// timerSlackChild prints "start", applies the slack (which may exec this
// binary again) and prints the slack of every thread of the process.
func timerSlackChild() {
	os.Stdout.WriteString("start\n")
	applyAgentTimerSlack(os.Getenv)
	// timerslack_ns is not under task/; /proc/<tid> reaches each thread.
	tids, _ := os.ReadDir("/proc/self/task")
	var slacks []string
	for _, tid := range tids {
		b, err := os.ReadFile(filepath.Join("/proc", tid.Name(), "timerslack_ns"))
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			continue
		}
		slacks = append(slacks, strings.TrimSpace(string(b)))
	}
	os.Stdout.WriteString("slacks " + strings.Join(slacks, " ") + "\n")
}

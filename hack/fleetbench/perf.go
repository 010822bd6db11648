package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// perfRecording samples the agents' call stacks with Linux perf for the
// measuring window (-perf FILE): the agents are separate processes, and
// perf sees what a Go profile cannot, the kernel side of their syscalls
// and context switches and the runtime threads (sysmon) next to the
// protocol work.
type perfRecording struct {
	file   string
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

// perfFrequency is low enough that perf's own cost stays small next to
// 30–100 agents on a couple of cores.
const perfFrequency = "199"

// startPerf starts `perf record -g` on the running agents; sp makes it
// die with the harness.
func startPerf(sp *spawner, file string, agents []*child) (*perfRecording, error) {
	var pids []string
	for _, c := range agents {
		if c.running() {
			pids = append(pids, strconv.Itoa(c.pid()))
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("perf: no agent running")
	}
	p := &perfRecording{file: file, done: make(chan error, 1)}
	p.cmd = exec.Command("perf", "record", "-F", perfFrequency, "-g", "-o", file, "-p", strings.Join(pids, ","))
	p.cmd.Stderr = &p.stderr
	if err := sp.start(p.cmd); err != nil {
		return nil, fmt.Errorf("perf: %w (is perf installed?)", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p, nil
}

// stop ends the recording (perf writes its file on SIGINT) and returns
// perf's error, if any, with its last words.
func (p *perfRecording) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		if err != nil && !exitedOnInterrupt(err) {
			return fmt.Errorf("perf record: %w: %s", err, strings.TrimSpace(p.stderr.String()))
		}
		return nil
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("perf record did not stop within 60 s; %s is incomplete", p.file)
	}
}

// exitedOnInterrupt: perf may report the SIGINT that stopped it as its exit.
func exitedOnInterrupt(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ((ws.Signaled() && ws.Signal() == syscall.SIGINT) || ws.ExitStatus() == 130)
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// spawner starts every child from one goroutine locked to its OS thread:
// the parent-death signal fires when the forking thread exits, so that
// thread lives as long as the harness, and a killed harness (even SIGKILL)
// takes its children with it.
type spawner struct {
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread must not be reused or exit early
		for r := range s.reqs {
			r.done <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	done := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}

// child is one process we started; it is only ever signalled by its PID
// while we have not reaped it.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	up     chan struct{} // closed when the child logs agentUpMsg
	upOnce sync.Once
	logs   *logCounter
	err    error // valid after exited is closed
}

// startChild starts bin with the harness's environment plus env
// (KEY=VALUE; a later entry wins over an inherited one).
func startChild(sp *spawner, name, bin string, args, env []string, logs *logCounter) (*child, error) {
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = io.Discard
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = pw
	if err := sp.start(cmd); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pw.Close()
	c := &child{name: name, cmd: cmd, exited: make(chan struct{}), up: make(chan struct{}), logs: logs}
	readDone := make(chan struct{})
	go func() {
		logs.consume(name, pr, func(msg string) {
			if msg == agentUpMsg {
				c.upOnce.Do(func() { close(c.up) })
			}
		})
		pr.Close()
		close(readDone)
	}()
	go func() {
		c.err = cmd.Wait()
		<-readDone
		close(c.exited)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stopAll sends SIGTERM to every child still running, waits up to grace,
// then SIGKILLs the rest by PID.
func stopAll(children []*child, grace time.Duration) {
	for _, c := range children {
		if c.running() {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, c := range children {
		select {
		case <-c.exited:
		case <-deadline:
			for _, k := range children {
				if k.running() {
					_ = k.cmd.Process.Kill()
				}
			}
			for _, k := range children {
				<-k.exited
			}
			return
		}
	}
}

// logCounter counts the children's log lines by level and message, with a
// bounded number of distinct messages, and keeps the last lines of each
// child that exited (bounded): enough to say why without storing the logs.
type logCounter struct {
	mu       sync.Mutex
	byKey    map[string]int64
	sample   map[string]string // the first line of each key, truncated
	other    int64
	lastLine map[string]string
	// unreachable counts dbUnreachableMsg lines, whatever the key cap.
	unreachable int64
}

const maxLogKeys = 200

// stateTimeoutMsg is the engine's log line for a state timeout, counted
// per role and state.
const stateTimeoutMsg = "state timeout; recovering"

// dbUnreachableMsg is an agent's log line for a failed store open, which
// it retries with backoff (cmd/hsfleet/agent.go).
const dbUnreachableMsg = "database not reachable, retrying"

func newLogCounter() *logCounter {
	return &logCounter{byKey: map[string]int64{}, sample: map[string]string{}, lastLine: map[string]string{}}
}

// consume counts r's lines and hands each line's message to seen.
func (l *logCounter) consume(name string, r io.Reader, seen func(msg string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var last string
	for sc.Scan() {
		line := sc.Text()
		msg := jsonField(line, "msg")
		key := jsonField(line, "level") + " " + msg
		if msg == stateTimeoutMsg {
			// Which states time out says where the fleet loses cycles.
			key += " (" + jsonField(line, "role") + " " + jsonField(line, "state") + ")"
		}
		seen(msg)
		l.mu.Lock()
		if msg == dbUnreachableMsg {
			l.unreachable++
		}
		if _, ok := l.byKey[key]; ok || len(l.byKey) < maxLogKeys {
			if !ok {
				l.sample[key] = truncate(line, 300)
			}
			l.byKey[key]++
		} else {
			l.other++
		}
		l.mu.Unlock()
		last = line
	}
	l.mu.Lock()
	l.lastLine[name] = truncate(last, 500)
	l.mu.Unlock()
}

// jsonField pulls "key":"value" out of a slog JSON line without a JSON
// parse: the harness must stay cheap next to the agents it measures.
func jsonField(line, key string) string {
	i := strings.Index(line, `"`+key+`":"`)
	if i < 0 {
		return "?"
	}
	rest := line[i+len(key)+4:]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return rest
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type logCount struct {
	key, sample string
	n           int64
}

func (l *logCounter) top(n int) (out []logCount, other int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.byKey {
		out = append(out, logCount{key: k, sample: l.sample[k], n: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n })
	if len(out) > n {
		for _, c := range out[n:] {
			other += c.n
		}
		out = out[:n]
	}
	return out, other + l.other
}

func (l *logCounter) last(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastLine[name]
}

// dbUnreachable is how many dbUnreachableMsg lines the children logged.
func (l *logCounter) dbUnreachable() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unreachable
}

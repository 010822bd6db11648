package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// agent is one running handshake agent, Python or hsfleet.
type agent struct {
	name, id string
	signPub  string // base64 Ed25519 public key, for trust bundles
	python   bool
	p        *proc
	start    func() (*proc, error) // (re)starts the process
}

// counts is what an agent did with each peer: completed cycles by our
// role, plus (Python only, from its log) envelopes opened and failures.
type counts struct {
	initiator, responder map[string]int // by peer id
	opened, failures     int
}

func newCounts() counts {
	return counts{initiator: map[string]int{}, responder: map[string]int{}}
}

var (
	identityID      = regexp.MustCompile(`agent ID:\s+(\S+)`)
	identitySignPub = regexp.MustCompile(`sign public key:\s+(\S+)`)
)

// newIdentity creates a reference-format identity file in dir and returns
// the agent id and its signing public key (base64).
func newIdentity(hsfleet, name, dir string) (id, signPub string, _ error) {
	out, err := exec.Command(hsfleet, "identity", "new", "--name", name, "--out", dir).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("identity new %s: %v\n%s", name, err, out)
	}
	m, k := identityID.FindSubmatch(out), identitySignPub.FindSubmatch(out)
	if m == nil || k == nil {
		return "", "", fmt.Errorf("identity new %s: no agent ID or sign public key in %q", name, out)
	}
	return string(m[1]), string(k[1]), nil
}

// startPython runs the reference HSAgent_1 from the kit copy. It always
// connects to 127.0.0.1:8888 (hard-coded in agent.py).
func (r *run) startPython(name string) (*agent, error) {
	a, err := r.newPython(name)
	if err != nil {
		return nil, err
	}
	return a, r.launch(a)
}

// newPython creates a Python agent's identity; launch starts it.
func (r *run) newPython(name string) (*agent, error) {
	agentDir := filepath.Join(r.kit, "agents", "agent_HSAgent_1")
	id, pub, err := newIdentity(r.hsfleet, name, agentDir)
	if err != nil {
		return nil, err
	}
	a := &agent{name: name, id: id, signPub: pub, python: true}
	env := []string{"PYTHONPATH=" + filepath.Join(r.kit, "shim") + ":" + r.kit, "PYTHONUNBUFFERED=1", "TZ=UTC"}
	a.start = func() (*proc, error) {
		return startProc(name, r.kit, r.logPath(name), env, r.python, "agents/agent_HSAgent_1/agent.py", "--name", name)
	}
	return a, nil
}

// launch starts a prepared agent and adds it to the run.
func (r *run) launch(a *agent) error {
	var err error
	if a.p, err = a.start(); err != nil {
		return err
	}
	r.agents = append(r.agents, a)
	return nil
}

// startHsfleet runs `hsfleet agent` in open trust mode (Python agents are
// in no trust bundle) on its own SQLite file.
func (r *run) startHsfleet(name, relayAddr string) (*agent, error) {
	a, err := r.newHsfleet(name, relayAddr)
	if err != nil {
		return nil, err
	}
	return a, r.launch(a)
}

// newHsfleet creates an hsfleet agent's identity; launch starts it. It
// authenticates to a relay that has its key (--relay-auth auto, the
// default).
func (r *run) newHsfleet(name, relayAddr string) (*agent, error) {
	dir := filepath.Join(r.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	id, pub, err := newIdentity(r.hsfleet, name, dir)
	if err != nil {
		return nil, err
	}
	a := &agent{name: name, id: id, signPub: pub}
	a.start = func() (*proc, error) {
		return startProc(name, dir, r.logPath(name), []string{"TZ=UTC"}, r.hsfleet, "agent", "--name", name,
			"--relay", relayAddr, "--db", "sqlite:"+r.dbPath(name), "--identity", filepath.Join(dir, "id_agent_"+name+".json"),
			"--trust-mode", "open", "--http-listen", "", "--log-level", r.hsLogLevel, "--log-format", "text",
			"--cycle-interval", r.cycleInterval.String(), "--state-timeout", r.stateTimeout.String())
	}
	return a, nil
}

func (r *run) dbPath(name string) string { return filepath.Join(r.dir, name, "agent.db") }

// count reads what an agent has done so far: the Python log, or the
// hsfleet agent's role_state rows.
func (r *run) count(a *agent) (counts, error) {
	if a.python {
		return countPythonLog(r.logPath(a.name))
	}
	return r.countHsfleetDB(a)
}

var (
	// The receive hook logs each accepted payload; the handlers that run
	// for it log next (one payload at a time), so a cycle line belongs to
	// the peer of the latest [recv][hook] line.
	recvFrom = regexp.MustCompile(`\[recv\]\[hook\] .*'from': '([0-9a-f-]{36})'`)
	ansi     = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// countPythonLog counts cycles per peer the way run.md says: a responder
// logs "CLOSE SUCCESS", an initiator a line ending in "] CLOSE".
func countPythonLog(path string) (counts, error) {
	c := newCounts()
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	peer := ""
	for sc.Scan() {
		line := strings.TrimSpace(ansi.ReplaceAllString(sc.Text(), ""))
		if m := recvFrom.FindStringSubmatch(line); m != nil {
			peer = m[1]
			continue
		}
		switch {
		case strings.HasSuffix(line, "CLOSE SUCCESS"):
			c.responder[peer]++
		case strings.HasSuffix(line, "] CLOSE"):
			c.initiator[peer]++
		case strings.Contains(line, "opened message"):
			c.opened++
		case strings.Contains(line, "handshake verify failed"), strings.Contains(line, "decrypt/verify failed"):
			c.failures++
		}
	}
	return c, sc.Err()
}

// countHsfleetDB reads completed cycles per (peer, role) from the agent's
// own store, the same rows the operator reports.
func (r *run) countHsfleetDB(a *agent) (counts, error) {
	c := newCounts()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, "sqlite:"+r.dbPath(a.name))
	if err != nil {
		return c, err
	}
	defer st.Close()
	sum, err := st.Summary(ctx, a.id, store.MaxSummaryPeers)
	if err != nil {
		return c, err
	}
	for _, p := range sum.Peers {
		if p.Role == "initiator" {
			c.initiator[p.PeerID] += int(p.Cycles)
		} else {
			c.responder[p.PeerID] += int(p.Cycles)
		}
	}
	f, err := os.ReadFile(r.logPath(a.name))
	if err == nil {
		c.failures = strings.Count(string(f), "handshake verify failed") + strings.Count(string(f), "decrypt/verify failed")
	}
	return c, nil
}

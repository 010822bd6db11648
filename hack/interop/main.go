// Command interop runs the reference Python HSAgent_1 agents against
// hsfleet (its relay and its agents) and asserts they keep cycling: the
// `make interop` target. It needs the reference kit (REFERENCE_DIR), Debian's
// python3 with the apt packages hack/ci-deps.sh installs, and the
// hsfleet binary. The Python agent's relay address is fixed at
// 127.0.0.1:8888, so one run at a time holds /tmp/hsfleet-interop-8888.lock.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	pythonRelayAddr = "127.0.0.1:8888"
	lockPath        = "/tmp/hsfleet-interop-8888.lock"
)

type options struct {
	reference, hsfleet, python, only, keep, hsLogLevel string
	strict                                             bool
	scale                                              float64
	cycleInterval, stateTimeout                        time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.reference, "reference", "", "reference Summoner kit (server.py, summoner/, agents/agent_HSAgent_1)")
	flag.StringVar(&o.hsfleet, "hsfleet", "", "hsfleet binary")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with the reference's apt packages")
	flag.StringVar(&o.only, "only", "", "run only scenarios whose name contains this")
	flag.StringVar(&o.keep, "keep", "", "copy every scenario's logs and databases into this directory")
	flag.StringVar(&o.hsLogLevel, "hs-log-level", "warn", "hsfleet agents' log level (debug to trace a stall; see -keep)")
	flag.BoolVar(&o.strict, "strict", false, "also fail on known stalls: under fault injection, pairs with a Python agent; in mixed-fleet, a pair of two Python agents that never cycled (see docs/interop.md)")
	flag.Float64Var(&o.scale, "scale", 1, "multiply every scenario duration (slow machines)")
	flag.DurationVar(&o.cycleInterval, "cycle-interval", 500*time.Millisecond, "hsfleet agents' pause between cycles per pair (keeps the Python agents' input rate sane)")
	flag.DurationVar(&o.stateTimeout, "state-timeout", 30*time.Second, "hsfleet agents' --state-timeout: a Python agent on a loaded machine can take longer than the 10 s default for one step, and a timed-out hsfleet side strands it (docs/interop.md)")
	flag.Parse()
	if o.reference == "" || o.hsfleet == "" {
		fmt.Fprintln(os.Stderr, "interop: -reference and -hsfleet are required")
		os.Exit(2)
	}
	for _, p := range []*string{&o.reference, &o.hsfleet, &o.keep} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				fmt.Fprintln(os.Stderr, "interop:", err)
				os.Exit(2)
			}
			*p = abs
		}
	}
	if _, err := os.Stat(filepath.Join(o.reference, "agents", "agent_HSAgent_1", "agent.py")); err != nil {
		fmt.Fprintf(os.Stderr, "interop: no reference kit at %s (set REFERENCE_DIR to a Summoner checkout with agents/agent_HSAgent_1): %v\n", o.reference, err)
		os.Exit(2)
	}
	os.Exit(runAll(o))
}

func runAll(o options) int {
	unlock, err := lock8888()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer unlock()
	start := time.Now()
	failed := 0
	for _, s := range scenarios {
		if o.only != "" && !strings.Contains(s.name, o.only) {
			continue
		}
		t0 := time.Now()
		fmt.Printf("=== %s\n", s.name)
		err := runOne(o, s)
		if errors.Is(err, errReferenceStall) {
			fmt.Printf("  RETRY %s: %v\n", s.name, err)
			err = runOne(o, s)
		}
		if err != nil {
			failed++
			fmt.Printf("--- FAIL %s (%.1fs): %v\n", s.name, time.Since(t0).Seconds(), err)
			continue
		}
		fmt.Printf("--- PASS %s (%.1fs)\n", s.name, time.Since(t0).Seconds())
	}
	fmt.Printf("interop: %d failed, total %.1fs\n", failed, time.Since(start).Seconds())
	if failed > 0 {
		return 1
	}
	return 0
}

// runOne runs s in its own temp dir and stops everything it started.
func runOne(o options, s scenario) error {
	if err := portFree(); err != nil {
		return err
	}
	r, err := newRun(o, s.name)
	if err != nil {
		return err
	}
	defer r.cleanup()
	return s.fn(r)
}

// lock8888 serializes runs on this machine: the Python agents can only
// use 127.0.0.1:8888.
func lock8888() (func(), error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		fmt.Printf("interop: waiting for %s (another interop run holds it)\n", lockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
	}
	return func() { f.Close() }, nil
}

// portFree fails clearly when something outside our lock holds 8888.
func portFree() error {
	ln, err := net.Listen("tcp", pythonRelayAddr)
	if err != nil {
		return fmt.Errorf("%s is taken by another process (the Python agents need it): %w", pythonRelayAddr, err)
	}
	return ln.Close()
}

// run is one scenario's world: a kit copy, logs, processes.
type run struct {
	options
	name, dir, kit string
	agents         []*agent
	others         []*proc
	extra          func() // scenario-specific cleanup
}

func newRun(o options, name string) (*run, error) {
	dir, err := os.MkdirTemp("", "hsfleet-interop-"+name+"-")
	if err != nil {
		return nil, err
	}
	r := &run{options: o, name: name, dir: dir, kit: filepath.Join(dir, "kit")}
	if err := os.CopyFS(r.kit, os.DirFS(o.reference)); err != nil {
		return nil, fmt.Errorf("copy reference kit: %w", err)
	}
	return r, nil
}

func (r *run) logPath(name string) string { return filepath.Join(r.dir, name+".log") }

func (r *run) d(seconds float64) time.Duration {
	return time.Duration(seconds * r.scale * float64(time.Second))
}

// cleanup stops every process this run started, by PID, agents first.
func (r *run) cleanup() {
	for _, a := range r.agents {
		a.p.stop(5 * time.Second)
	}
	if r.extra != nil {
		r.extra()
	}
	for _, p := range r.others {
		p.stop(5 * time.Second)
	}
	if r.keep != "" {
		dst := filepath.Join(r.keep, r.name)
		_ = os.RemoveAll(dst)
		_ = os.CopyFS(dst, os.DirFS(r.dir))
	}
	_ = os.RemoveAll(r.dir)
}

// startOurRelay runs `hsfleet relay` with its default client filter and
// extra flags.
func (r *run) startOurRelay(addr string, extra ...string) (*proc, error) {
	args := append([]string{r.hsfleet, "relay", "--listen", addr, "--log-format", "text"}, extra...)
	p, err := startProc("relay", r.dir, r.logPath("relay"), nil, args...)
	if err == nil {
		r.others = append(r.others, p)
		err = waitListening(addr, p)
	}
	return p, err
}

// startPythonRelay runs the reference server.py on 127.0.0.1:8888.
func (r *run) startPythonRelay() (*proc, error) {
	env := []string{"PYTHONPATH=" + filepath.Join(r.kit, "shim") + ":" + r.kit, "PYTHONUNBUFFERED=1", "TZ=UTC"}
	p, err := startProc("pyrelay", r.kit, r.logPath("pyrelay"), env, r.python, "server.py", "--config", "configs/server_config_python.json")
	if err == nil {
		r.others = append(r.others, p)
		err = waitListening(pythonRelayAddr, p)
	}
	return p, err
}

func waitListening(addr string, p *proc) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return fmt.Errorf("%s exited: %v (log %s)", p.name, p.err, p.log)
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening on %s after 30s", p.name, addr)
}

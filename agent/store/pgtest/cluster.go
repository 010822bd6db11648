package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver
)

const (
	dirPrefix     = "hsfleet-pgtest-"
	ownerPidFile  = "owner.pid"
	superuser     = "postgres"
	startTimeout  = 60 * time.Second
	stopTimeout   = 15 * time.Second
	initdbTimeout = 2 * time.Minute
)

// ClusterOptions tunes a throwaway cluster.
type ClusterOptions struct {
	// Durable keeps fsync, full_page_writes and synchronous_commit on, so a
	// benchmark measures what a production server would do. By default they
	// are off: the cluster is thrown away, and tests run several times faster.
	Durable bool
	// MaxConnections is the server's max_connections; 0 means 200.
	MaxConnections int
	// Settings are extra server settings, "name=value" each (passed as -c),
	// e.g. shared_preload_libraries=pg_stat_statements for a benchmark.
	Settings []string
}

// Cluster is a throwaway PostgreSQL cluster in a temp dir, listening on
// 127.0.0.1 only. Its server can be stopped and started again (same data,
// same port) to test how clients survive a restart.
type Cluster struct {
	opts    ClusterOptions
	binDir  string
	root    string // temp dir: owner.pid, data/, sock/, server.log
	dataDir string
	sockDir string
	logPath string
	port    int
	cred    *syscall.Credential // nil unless we run as root

	mu      sync.Mutex
	running *serverProcess
}

type serverProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // valid once exited is closed
}

// NewCluster starts a dedicated cluster for one test and destroys it in
// t.Cleanup. Use it when a test must disturb the server (restart it);
// otherwise DSN shares one cluster per test binary.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	c, err := StartCluster(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := c.Destroy(); err != nil {
			t.Logf("pgtest: destroy cluster: %v", err)
		}
	})
	return c
}

// StartCluster creates (initdb) and starts a new cluster. The caller owns
// it and must call Destroy.
func StartCluster(opts ClusterOptions) (*Cluster, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	reapStaleClusters()
	c := &Cluster{opts: opts, binDir: binDir}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	if err := c.makeDirs(); err != nil {
		return nil, err
	}
	if err := c.initdb(); err != nil {
		_ = os.RemoveAll(c.root)
		return nil, err
	}
	// A free port can be taken by someone else between our probe and the
	// server's bind; a few attempts make that race harmless.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err == nil {
			if err = c.Start(); err == nil {
				return c, nil
			}
		}
		if attempt == 2 {
			_ = os.RemoveAll(c.root)
			return nil, err
		}
	}
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup(superuser)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root; create the %q OS user "+
			"(hack/ci-deps.sh does: useradd --system --no-create-home postgres): %w", superuser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgtest: user %q has a non-numeric uid/gid %q/%q", superuser, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func (c *Cluster) makeDirs() error {
	root, err := os.MkdirTemp("", dirPrefix+"*")
	if err != nil {
		return fmt.Errorf("pgtest: temp dir: %w", err)
	}
	c.root = root
	c.dataDir = filepath.Join(root, "data")
	c.sockDir = filepath.Join(root, "sock")
	c.logPath = filepath.Join(root, "server.log")
	// The reaper uses owner.pid to tell a live owner from a killed one.
	if err := os.WriteFile(filepath.Join(root, ownerPidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if c.cred != nil {
		for _, p := range []string{root, c.sockDir} {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: chown %s to %s: %w", p, superuser, err)
			}
		}
	}
	return nil
}

func (c *Cluster) initdb() error {
	ctx, cancel := context.WithTimeout(context.Background(), initdbTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C",
		"--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb in %s: %w\n%s", c.dataDir, err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) serverArgs() []string {
	args := []string{
		"-D", c.dataDir, "-p", strconv.Itoa(c.port), "-k", c.sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=" + strconv.Itoa(c.maxConnections()),
		"-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning",
	}
	if !c.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, s := range c.opts.Settings {
		args = append(args, "-c", s)
	}
	return args
}

func (c *Cluster) maxConnections() int {
	if c.opts.MaxConnections > 0 {
		return c.opts.MaxConnections
	}
	return 200
}

// Start starts the server (again) on the cluster's port and waits until it
// accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		return nil
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: server log: %w", err)
	}
	p, err := c.spawn(logFile)
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		return err
	}
	if err := c.waitReady(p); err != nil {
		_ = stopProcess(p, syscall.SIGINT)
		return err
	}
	c.running = p
	return nil
}

// spawn starts postgres; if the test binary is killed, the kernel sends
// SIGQUIT (immediate shutdown) to the server.
func (c *Cluster) spawn(logFile *os.File) (*serverProcess, error) {
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), c.serverArgs()...)
	cmd.Dir = c.root
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	return startServer(cmd, c.cred, syscall.SIGQUIT)
}

// startServer starts cmd from a goroutine locked to its OS thread: the
// parent-death signal fires when the thread that forked the child exits,
// so that thread must live exactly as long as the server.
func startServer(cmd *exec.Cmd, cred *syscall.Credential, deathSig syscall.Signal) (*serverProcess, error) {
	p := &serverProcess{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: cred,
			Pdeathsig:  deathSig,
			Setpgid:    true, // a Ctrl-C on the terminal is for the test binary, not the server
		}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("pgtest: start %s: %w", filepath.Base(cmd.Path), err)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Cluster) waitReady(p *serverProcess) error {
	return waitAccepting(p, "postgres", c.dsn("postgres"), c.logPath)
}

// waitAccepting pings dsn until the server process p (named what in
// errors) answers, exits, or startTimeout passes; errors carry its log tail.
func waitAccepting(p *serverProcess, what, dsn, logPath string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("pgtest: %s exited during start (%v); log:\n%s", what, p.err, tail(logPath, 4096))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: %s not ready after %v: %w; log:\n%s", what, startTimeout, err, tail(logPath, 4096))
		}
	}
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// keeps the data, so Start can bring it back.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		return nil
	}
	err := stopProcess(c.running, syscall.SIGINT) // fast shutdown
	c.running = nil
	return err
}

func stopProcess(p *serverProcess, sig syscall.Signal) error {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return fmt.Errorf("pgtest: %s did not stop within %v; killed", filepath.Base(p.cmd.Path), stopTimeout)
}

// Destroy stops the server and removes the cluster's files.
func (c *Cluster) Destroy() error {
	err := c.Stop()
	if rmErr := os.RemoveAll(c.root); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: remove %s: %w", c.root, rmErr))
	}
	return err
}

// Port is the TCP port the server listens on (127.0.0.1).
func (c *Cluster) Port() int { return c.port }

// AdminDSN connects as the superuser to the "postgres" database.
func (c *Cluster) AdminDSN() string { return c.dsn("postgres") }

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", superuser, c.port, db)
}

// NewDatabase creates an empty database on the cluster, returns its DSN and
// drops it in t.Cleanup.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, c.AdminDSN(), c.createSuffix())
}

// createSuffix picks FILE_COPY on PostgreSQL 15+: with fsync off it copies
// the small template faster than WAL-logging it block by block.
func (c *Cluster) createSuffix() string {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v >= 15 && !c.opts.Durable {
		return " STRATEGY FILE_COPY"
	}
	return ""
}

// Package pyrelay runs the reference Summoner relay (server.py from
// /work/shared/reference/summoner, or $HSFLEET_SUMMONER_REF) for tests
// that check hsfleet clients against it. It is a test helper: Start skips
// the test where the reference or Debian's python3 is missing.
package pyrelay

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// DefaultRef is where the reference lives on the development machine.
const DefaultRef = "/work/shared/reference/summoner"

// python is Debian's interpreter, which sees the reference's apt packages.
const python = "/usr/bin/python3"

// Start runs the reference relay on a free 127.0.0.1 port until the test
// ends and returns its address once it accepts connections. Its output is
// logged when the test fails.
func Start(tb testing.TB) string {
	tb.Helper()
	ref := os.Getenv("HSFLEET_SUMMONER_REF")
	if ref == "" {
		ref = DefaultRef
	}
	if _, err := os.Stat(filepath.Join(ref, "server.py")); err != nil {
		tb.Skipf("reference relay not found: %v", err)
	}
	if _, err := os.Stat(python); err != nil {
		tb.Skip("no " + python)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// server.py always listens on 8888 (run() takes the port as an
	// argument, not from the config), so call run() as server.py does,
	// with a free port.
	script := `from summoner.server import SummonerServer
SummonerServer(name="ReferenceRelay").run(host="127.0.0.1", port=` + strconv.Itoa(port) + `,
    config_dict={"version": "python", "logger": {"log_level": "WARNING", "enable_console_log": True}})`
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Dir = tb.TempDir()
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(ref, "shim")+":"+ref, "PYTHONUNBUFFERED=1", "TZ=UTC")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cancel()
		<-exited
		if tb.Failed() {
			tb.Logf("reference relay output:\n%s", out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			tb.Fatalf("reference relay exited before listening:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("reference relay not listening on %s after 30s:\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer collects the child's output from its copying goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

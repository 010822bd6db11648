package relay

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
)

// A real CPython client (standard library only) checks every relayed byte
// against json.dumps, the reference server's own encoder, over IPv4 and
// IPv6, with and without authenticated registration (a relay with a
// trust bundle serves a Python client, which never authenticates,
// byte for byte as before). Skipped only where no python3 is installed.
func TestRelayMatchesPythonJSONDumpsForAPythonClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "python_interop.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, listen := range loopbacks(t) {
		for _, auth := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/auth=%v", listen, auth), func(t *testing.T) {
				runPythonInterop(t, python, script, listen, auth)
			})
		}
	}
}

func runPythonInterop(t *testing.T, python, script, listen string, auth bool) {
	cfg := ServerConfig{Listen: listen, AllowPlainText: true}
	var s *Server
	if auth {
		s, _ = startAuthServer(t, cfg, newTestAgent(t, "alice-0001"))
	} else {
		s, _ = startServer(t, cfg)
	}
	host, port, _ := net.SplitHostPort(s.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

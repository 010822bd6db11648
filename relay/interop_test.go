package relay

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
)

// A real CPython client (standard library only) checks every relayed byte
// against json.dumps, the reference server's own encoder, over IPv4 and
// IPv6. Skipped only where no python3 is installed.
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
		t.Run(listen, func(t *testing.T) {
			s, _ := startServer(t, ServerConfig{Listen: listen})
			host, port, _ := net.SplitHostPort(s.Addr().String())
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, python, script, host, port).CombinedOutput()
			if err != nil {
				t.Fatalf("python client: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

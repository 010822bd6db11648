package relay

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// testAgent is an agent identity for authentication tests.
type testAgent struct {
	id   string
	priv ed25519.PrivateKey
}

func newTestAgent(t testing.TB, id string) testAgent {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testAgent{id: id, priv: priv}
}

// writeBundle writes a trust bundle holding agents, atomically (rename),
// as a ConfigMap update swaps the file.
func writeBundle(t testing.TB, path string, agents ...testAgent) {
	t.Helper()
	b := trust.Bundle{}
	for _, a := range agents {
		b[a.id] = a.priv.Public().(ed25519.PublicKey)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startAuthServer runs a filtering relay with a trust bundle of agents,
// polled every 20 ms, and returns it with the bundle's path.
func startAuthServer(t testing.TB, cfg ServerConfig, agents ...testAgent) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.json")
	writeBundle(t, path, agents...)
	cfg.TrustBundle = path
	cfg.TrustBundlePoll = 20 * time.Millisecond
	s, _ := startFilteringServer(t, cfg)
	return s, path
}

// agentLine is an HSAgent-shaped typed envelope from one id to another
// ("" for a null to).
func agentLine(from, to, intent string) string {
	toJSON := "null"
	if to != "" {
		toJSON = `"` + to + `"`
	}
	return fmt.Sprintf(`{"_version": "1.3.0", "_payload": {"to": %s, "intent": "%s", "from": "%s"}, "_type": {"to": "str", "intent": "str", "from": "str"}}`,
		toJSON, intent, from)
}

// readAuth reads the next line, which must be an auth line.
func (c *rawClient) readAuth() authMsg {
	c.t.Helper()
	line := strings.TrimSuffix(c.mustReadLine(), "\n")
	m, err := parseAuthLine([]byte(line))
	if err != nil {
		c.t.Fatalf("auth reply %q: %v", line, err)
	}
	return m
}

// hello sends a hello for id and returns the relay's answer.
func (c *rawClient) hello(id string) authMsg {
	c.t.Helper()
	c.send(string(encodeAuthLine(authMsg{Type: authHello, V: authVersion, ID: id})))
	return c.readAuth()
}

// nonce decodes a challenge's nonce.
func (m authMsg) nonce(t testing.TB) []byte {
	t.Helper()
	if m.Type != authChallenge {
		t.Fatalf("got %+v, want a challenge", m)
	}
	n, err := base64.StdEncoding.DecodeString(m.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// respond answers a challenge with sig and returns the relay's verdict.
func (c *rawClient) respond(sig string) authMsg {
	c.t.Helper()
	c.send(string(encodeAuthLine(authMsg{Type: authResponse, Sig: sig})))
	return c.readAuth()
}

// authenticate runs a correct handshake for a and checks it succeeded.
func (c *rawClient) authenticate(a testAgent) {
	c.t.Helper()
	ch := c.hello(a.id)
	if got := c.respond(signAuth(a.priv, ch.nonce(c.t), a.id)); got.Type != authOK || got.ID != a.id {
		c.t.Fatalf("auth as %s: got %+v", a.id, got)
	}
}

func newTestReader(nc net.Conn) *bufio.Reader { return bufio.NewReaderSize(nc, 1<<20) }

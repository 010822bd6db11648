package relay

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/internal/pyrelay"
)

// authRecorder collects a client's OnAuth outcomes.
type authRecorder struct {
	mu       sync.Mutex
	outcomes []AuthOutcome
}

func (r *authRecorder) record(o AuthOutcome) {
	r.mu.Lock()
	r.outcomes = append(r.outcomes, o)
	r.mu.Unlock()
}

func (r *authRecorder) results() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, o := range r.outcomes {
		out = append(out, o.Result)
	}
	return out
}

// An agent unknown to the relay goes on unauthenticated; once its ID joins
// the bundle, its next line makes the relay end the connection, and the
// client reconnects and proves its ID.
func TestClientAuthenticatesOnceItsIDJoinsTheBundle(t *testing.T) {
	alice, bob := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002")
	s, path := startAuthServer(t, ServerConfig{DirectedRouting: true}, bob)
	rx := dialRaw(t, s.Addr())
	connected(t, s, 1)

	var rec authRecorder
	var c *Client
	reg := []byte(agentLine(alice.id, "", "register") + "\n")
	c = NewClient(ClientConfig{Addr: s.Addr().String(), Logger: testLogger(t), MinBackoff: 10 * time.Millisecond,
		Auth:      &ClientAuth{ID: alice.id, Key: alice.priv},
		OnAuth:    rec.record,
		OnConnect: func() { _ = c.Send(reg) }})
	runClient(t, c)
	// The first line rx sees may be the hello-free register only: the
	// relay never relays auth lines.
	if got := rx.mustReadLine(); !json.Valid([]byte(got)) || got[:15] != `{"remote_addr":` {
		t.Fatalf("rx got %q", got)
	}
	if got := rec.results(); len(got) != 1 || got[0] != authResultUnknownID {
		t.Fatalf("outcomes %q, want [unknown_id]", got)
	}

	writeBundle(t, path, alice, bob)
	eventually(t, "bundle reload", func() bool { return metricValue(t, s.metrics.bundleAgents) == 2 })
	if err := c.Send(reg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "re-authentication", func() bool { return c.Stats().AuthOK == 1 })
	rx.mustReadLine() // the register OnConnect sends after re-authenticating
	if got := rec.results(); len(got) != 2 || got[1] != authResultOK {
		t.Fatalf("outcomes %q, want [unknown_id ok]", got)
	}
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonReauth)); got != 1 {
		t.Errorf("reauth disconnects = %v, want 1", got)
	}

	// Now directed lines to alice reach her client, not rx.
	sender := dialRaw(t, s.Addr())
	direct := agentLine(bob.id, alice.id, "request")
	sender.send(string(encodeAuthLine(authMsg{Type: authHello, V: authVersion, ID: bob.id})))
	sender.respondTo(bob)
	sender.send(direct + "\n")
	if got, want := nextLine(t, c)+"\n", wrapped(t, sender.addr(), direct); got != want {
		t.Fatalf("alice got %q, want %q", got, want)
	}
	rx.expectSilence(50 * time.Millisecond)
}

// respondTo answers the challenge already requested for a.
func (c *rawClient) respondTo(a testAgent) {
	c.t.Helper()
	ch := c.readAuth()
	if got := c.respond(signAuth(a.priv, ch.nonce(c.t), a.id)); got.Type != authOK {
		c.t.Fatalf("auth: %+v", got)
	}
}

// A client that requires authentication never announces itself to a relay
// that cannot authenticate it.
func TestClientRequiredAuthStaysOff(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{}) // no bundle
	alice := newTestAgent(t, "alice-0001")
	var rec authRecorder
	var connects int
	var mu sync.Mutex
	c := NewClient(ClientConfig{Addr: s.Addr().String(), Logger: testLogger(t), MinBackoff: 10 * time.Millisecond,
		Auth:      &ClientAuth{ID: alice.id, Key: alice.priv, Required: true},
		OnAuth:    rec.record,
		OnConnect: func() { mu.Lock(); connects++; mu.Unlock() }})
	runClient(t, c)
	eventually(t, "two attempts", func() bool { return c.Stats().AuthFailed >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if connects != 0 {
		t.Fatalf("OnConnect ran %d times", connects)
	}
	if got := rec.results(); got[0] != authResultUnavailable {
		t.Fatalf("outcomes %q, want unavailable", got)
	}
}

func TestClientAuthConfigChecked(t *testing.T) {
	c := NewClient(ClientConfig{Addr: "127.0.0.1:1", Auth: &ClientAuth{ID: "a\"b", Key: newTestAgent(t, "x").priv}})
	if err := c.Run(context.Background()); err == nil {
		t.Fatal("Run accepted an id with a quote")
	}
}

// Against the reference Python relay, which does not speak the protocol,
// an authenticating client waits out its timeout and then works as before;
// the hello it sent reaches the other clients as an ordinary line, which
// carries no from, to or intent, so Summoner agents ignore it.
func TestClientAuthAgainstReferencePythonRelay(t *testing.T) {
	addr := pyrelay.Start(t)
	alice := newTestAgent(t, "alice-0001")
	rx, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	rxc := &rawClient{t: t, nc: rx, br: newTestReader(rx)}
	t.Cleanup(func() { rx.Close() })
	time.Sleep(100 * time.Millisecond) // the Python server registers rx

	var rec authRecorder
	var c *Client
	reg := []byte(agentLine(alice.id, "", "register") + "\n")
	c = NewClient(ClientConfig{Addr: addr, Logger: testLogger(t),
		Auth:      &ClientAuth{ID: alice.id, Key: alice.priv, Timeout: 300 * time.Millisecond},
		OnAuth:    rec.record,
		OnConnect: func() { _ = c.Send(reg) }})
	runClient(t, c)
	hello := rxc.mustReadLine()
	var w struct{ Content string }
	if err := json.Unmarshal([]byte(hello), &w); err != nil || !isAuthLine([]byte(w.Content)) {
		t.Fatalf("rx got %q, want the relayed hello", hello)
	}
	if err := json.Unmarshal([]byte(rxc.mustReadLine()), &w); err != nil || w.Content+"\n" != string(reg) {
		t.Fatalf("rx got %q, want the register line", w.Content)
	}
	if got := rec.results(); len(got) != 1 || got[0] != authResultNoAnswer {
		t.Fatalf("outcomes %q, want [no_answer]", got)
	}
}

package relay

import (
	"testing"
	"time"
)

// An authenticated agent owns its ID: directed lines to it reach it alone,
// even when a squatter claimed the ID first, and a squatter's lines
// claiming a bundle ID reach nobody. Real TCP, default filter.
func TestAuthBindsIDAndSquatterCannotHijack(t *testing.T) {
	alice, bob := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002")
	s, _ := startAuthServer(t, ServerConfig{DirectedRouting: true}, alice, bob)

	squatter := dialRaw(t, s.Addr()) // a Python-style client: no hello
	connected(t, s, 1)
	squatter.send(agentLine(bob.id, "", "register") + "\n") // claims bob first
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	a.authenticate(alice)
	b.authenticate(bob)
	connected(t, s, 3)
	eventually(t, "squatter's line dropped", func() bool { return metricValue(t, s.metrics.dropUnauthID) == 1 })

	direct := agentLine(alice.id, bob.id, "request")
	a.send(direct + "\n")
	if got, want := b.mustReadLine(), wrapped(t, a.addr(), direct); got != want {
		t.Fatalf("bob got %q, want %q", got, want)
	}
	squatter.expectSilence(50 * time.Millisecond)

	// Broadcasts still reach everyone, the unauthenticated client included.
	reg := agentLine(alice.id, "", "register")
	a.send(reg + "\n")
	for _, c := range []*rawClient{b, squatter} {
		if got, want := c.mustReadLine(), wrapped(t, a.addr(), reg); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// The squatter may speak for itself (an ID outside the bundle).
	own := agentLine("python-9999", "", "register")
	squatter.send(own + "\n")
	for _, c := range []*rawClient{a, b} {
		if got, want := c.mustReadLine(), wrapped(t, squatter.addr(), own); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// An authenticated agent may not speak for another.
	b.send(agentLine(alice.id, "", "register") + "\n")
	b.send(`{"_version": "1.3.0", "_payload": {"from": "\u0061lice-0001", "to": null, "intent": "x"}, "_type": {}}` + "\n")
	a.expectSilence(50 * time.Millisecond)
	squatter.expectSilence(10 * time.Millisecond)

	for name, want := range map[string]float64{
		"auth ok":              metricValue(t, s.metrics.authAttempts.WithLabelValues(authResultOK)) - 2,
		"authenticated":        metricValue(t, s.metrics.authenticated) - 2,
		"directed":             metricValue(t, s.metrics.directed) - 1,
		"from mismatch":        metricValue(t, s.metrics.dropFromMismatch) - 2,
		"unauthenticated id":   metricValue(t, s.metrics.dropUnauthID) - 1,
		"bundle agents loaded": metricValue(t, s.metrics.bundleAgents) - 2,
	} {
		if want != 0 {
			t.Errorf("%s: off by %v", name, want)
		}
	}
}

// Every way a handshake can fail, against a relay that lets
// unauthenticated clients in.
func TestAuthFailures(t *testing.T) {
	alice, bob := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002")
	mallory := newTestAgent(t, "alice-0001") // same id, another key
	s, _ := startAuthServer(t, ServerConfig{AuthTimeout: 300 * time.Millisecond}, alice, bob)

	// A valid response, captured to be replayed.
	first := dialRaw(t, s.Addr())
	ch := first.hello(alice.id)
	captured := signAuth(alice.priv, ch.nonce(t), alice.id)
	if got := first.respond(captured); got.Type != authOK {
		t.Fatalf("first handshake: %+v", got)
	}

	refusedThenEOF := func(t *testing.T, c *rawClient, reason string) {
		t.Helper()
		lines := c.expectEOF()
		if len(lines) != 1 {
			t.Fatalf("got %q before EOF, want one refusal", lines)
		}
		m, err := parseAuthLine([]byte(lines[0][:len(lines[0])-1]))
		if err != nil || m.Type != authRefused || m.Reason != reason {
			t.Fatalf("got %q (%v), want refused %s", lines[0], err, reason)
		}
	}
	badSignatures := []struct {
		name    string
		helloID string
		sig     func(nonce []byte) string
	}{
		{"wrong key", alice.id, func(n []byte) string { return signAuth(mallory.priv, n, alice.id) }},
		{"replayed response", alice.id, func([]byte) string { return captured }},
		{"wrong id: alice's key for bob's id", bob.id, func(n []byte) string { return signAuth(alice.priv, n, bob.id) }},
		{"signature for another id", bob.id, func(n []byte) string { return signAuth(alice.priv, n, alice.id) }},
	}
	for _, tt := range badSignatures {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, s.Addr())
			ch := c.hello(tt.helloID)
			c.send(string(encodeAuthLine(authMsg{Type: authResponse, Sig: tt.sig(ch.nonce(t))})))
			refusedThenEOF(t, c, authResultBadSignature)
		})
	}
	t.Run("malformed response", func(t *testing.T) {
		c := dialRaw(t, s.Addr())
		c.hello(alice.id)
		c.send(`{"hsfleet_relay_auth":"response","sig":"short"}` + "\n")
		refusedThenEOF(t, c, authResultMalformed)
	})
	t.Run("a relayed line instead of the response", func(t *testing.T) {
		c := dialRaw(t, s.Addr())
		c.hello(alice.id)
		c.send(agentLine(alice.id, "", "register") + "\n")
		refusedThenEOF(t, c, authResultMalformed)
	})
	t.Run("no response", func(t *testing.T) {
		c := dialRaw(t, s.Addr())
		c.hello(alice.id)
		if got := c.expectEOF(); len(got) != 1 || got[0] != WarnAuthTimeout {
			t.Fatalf("got %q, want the auth timeout warning", got)
		}
	})
	t.Run("unknown id goes on unauthenticated", func(t *testing.T) {
		c := dialRaw(t, s.Addr())
		if got := c.hello("carol-0003"); got.Type != authRefused || got.Reason != authResultUnknownID {
			t.Fatalf("got %+v, want refused unknown_id", got)
		}
		other := dialRaw(t, s.Addr())
		connected(t, s, 3) // first, c, other
		line := agentLine("carol-0003", "", "register")
		c.send(line + "\n")
		for _, r := range []*rawClient{other, first} {
			if got, want := r.mustReadLine(), wrapped(t, c.addr(), line); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
	t.Run("second hello on an authenticated connection is dropped", func(t *testing.T) {
		first.send(string(encodeAuthLine(authMsg{Type: authHello, V: authVersion, ID: bob.id})))
		first.expectSilence(50 * time.Millisecond)
		if got := metricValue(t, s.metrics.dropAuthLine); got != 1 {
			t.Errorf("auth line drops = %v, want 1", got)
		}
	})
	for reason, want := range map[string]float64{authResultBadSignature: 4, authResultMalformed: 2,
		authResultTimeout: 1, authResultUnknownID: 1, authResultOK: 1} {
		if got := metricValue(t, s.metrics.authAttempts.WithLabelValues(reason)); got != want {
			t.Errorf("auth attempts %s = %v, want %v", reason, got, want)
		}
	}
}

// With RequireAuth only proven agents stay connected.
func TestAuthRequiredRefusesOthers(t *testing.T) {
	alice := newTestAgent(t, "alice-0001")
	s, _ := startAuthServer(t, ServerConfig{RequireAuth: true, AuthTimeout: 300 * time.Millisecond}, alice)

	plain := dialRaw(t, s.Addr())
	plain.send(agentLine("python-1", "", "register") + "\n")
	if got := plain.expectEOF(); len(got) != 1 || got[0] != WarnAuthRequired {
		t.Fatalf("plain client got %q, want the auth required warning", got)
	}
	silent := dialRaw(t, s.Addr())
	if got := silent.expectEOF(); len(got) != 1 || got[0] != WarnAuthTimeout {
		t.Fatalf("silent client got %q, want the auth timeout warning", got)
	}
	unknown := dialRaw(t, s.Addr())
	unknown.send(string(encodeAuthLine(authMsg{Type: authHello, V: authVersion, ID: "carol-0003"})))
	if got := unknown.expectEOF(); len(got) != 1 || got[0] != string(encodeAuthLine(authMsg{Type: authRefused, Reason: authResultUnknownID})) {
		t.Fatalf("unknown id got %q, want a refusal then EOF", got)
	}
	a := dialRaw(t, s.Addr())
	a.authenticate(alice)
	time.Sleep(400 * time.Millisecond) // past the auth timeout: no longer applies
	a.send(agentLine(alice.id, "", "register") + "\n")
	a.expectSilence(20 * time.Millisecond)
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonAuthRequired)); got != 1 {
		t.Errorf("auth_required disconnects = %v, want 1", got)
	}
	if got := metricValue(t, s.metrics.authenticated); got != 1 {
		t.Errorf("authenticated connections = %v, want 1", got)
	}
}

// A relay without a bundle answers a hello with "unavailable" and serves
// the client as before.
func TestAuthUnavailableWithoutBundle(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{})
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	if got := a.hello("alice-0001"); got.Type != authUnavailable {
		t.Fatalf("got %+v, want unavailable", got)
	}
	connected(t, s, 2)
	line := agentLine("alice-0001", "", "register")
	a.send(line + "\n")
	if got, want := b.mustReadLine(), wrapped(t, a.addr(), line); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A bundle reload that drops or changes an agent's key disconnects its
// authenticated connection; others stay.
func TestAuthBundleReloadDisconnectsRevokedKey(t *testing.T) {
	alice, bob := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002")
	s, path := startAuthServer(t, ServerConfig{}, alice, bob)
	a, b := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	a.authenticate(alice)
	b.authenticate(bob)
	writeBundle(t, path, bob, newTestAgent(t, "carol-0003"))
	if got := a.expectEOF(); len(got) != 1 || got[0] != WarnBundleChanged {
		t.Fatalf("alice got %q, want the bundle changed warning", got)
	}
	b.expectSilence(50 * time.Millisecond)
	eventually(t, "bundle gauge", func() bool { return metricValue(t, s.metrics.bundleAgents) == 2 })
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonBundleChanged)); got != 1 {
		t.Errorf("bundle_changed disconnects = %v, want 1", got)
	}
}

// Without a bundle, directed routing falls back to broadcast for an ID two
// connections claim, so a squatter costs only the optimisation
// (docs/integrity-plan.md §5): both claimants receive, until both leave.
func TestContestedIDFallsBackToBroadcast(t *testing.T) {
	s, _ := startFilteringServer(t, ServerConfig{DirectedRouting: true})
	squatter, victim, sender := dialRaw(t, s.Addr()), dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	connected(t, s, 3)
	squat := agentLine("victim-1", "", "register")
	squatter.send(squat + "\n") // first claim
	victim.mustReadLine()
	sender.mustReadLine()
	reg := agentLine("victim-1", "", "register")
	victim.send(reg + "\n") // second claim: contested
	squatter.mustReadLine()
	sender.mustReadLine()

	direct := agentLine("sender-1", "victim-1", "request")
	sender.send(direct + "\n")
	for _, c := range []*rawClient{squatter, victim} {
		if got, want := c.mustReadLine(), wrapped(t, sender.addr(), direct); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// The squatter leaves; the id stays contested while the victim is
	// there (it may be the squatter's accomplice): still broadcast.
	squatter.nc.Close()
	connected(t, s, 2)
	sender.send(direct + "\n")
	victim.mustReadLine()
	if got := metricValue(t, s.metrics.routesContested); got != 1 {
		t.Errorf("contested = %v, want 1", got)
	}
	if got := metricValue(t, s.metrics.directed); got != 0 {
		t.Errorf("directed = %v, want 0: a contested id is broadcast", got)
	}
}

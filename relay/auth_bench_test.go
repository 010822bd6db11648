package relay

import (
	"net"
	"path/filepath"
	"testing"
)

// handleRig is a relay with in-memory connections (net.Pipe, never read:
// the benchmark drains the queues itself), to measure the per-line work of
// handle without sockets or scheduling noise.
type handleRig struct {
	s     *Server
	conns []*conn
	spare [][]*frame
}

func newHandleRig(tb testing.TB, cfg ServerConfig, n int) *handleRig {
	tb.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := NewServer(cfg, testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.ln.Close() })
	r := &handleRig{s: s, conns: make([]*conn, n), spare: make([][]*frame, n)}
	for i := range r.conns {
		a, b := net.Pipe()
		tb.Cleanup(func() { a.Close(); b.Close() })
		r.conns[i] = newConn(s, a)
		r.conns[i].greeted = true
		if ok, _ := s.hub.add(r.conns[i], 0); !ok {
			tb.Fatal("hub refused a connection")
		}
	}
	return r
}

// relay hands line to conns[0]'s handler and drains every queue.
func (r *handleRig) relay(line []byte) {
	r.conns[0].handle(line)
	for i, c := range r.conns {
		batch, _, _ := c.q.take(r.spare[i])
		for j, f := range batch {
			f.release()
			batch[j] = nil
		}
		r.spare[i] = batch
	}
}

// authRig is a handleRig whose relay has a bundle with the sender's ID,
// the sender authenticated (as finishAuth leaves it) when proven is set.
func authRig(tb testing.TB, n int, proven bool) (*handleRig, []byte) {
	tb.Helper()
	alice := newTestAgent(tb, "d8045fd9-aaaa-bbbb-cccc-0123456789ab")
	path := filepath.Join(tb.TempDir(), "bundle.json")
	writeBundle(tb, path, alice)
	r := newHandleRig(tb, ServerConfig{TrustBundle: path, DirectedRouting: true}, n)
	if proven {
		r.conns[0].authID = alice.id
		r.s.hub.bind(r.conns[0], alice.id)
	}
	return r, []byte(agentLine(alice.id, "", "register"))
}

// With a bundle, relaying an authenticated agent's line still allocates
// nothing.
func TestAuthHotPathDoesNotAllocate(t *testing.T) {
	r, line := authRig(t, 4, true)
	r.relay(line)
	if n := testing.AllocsPerRun(1000, func() { r.relay(line) }); n != 0 {
		t.Errorf("relaying an authenticated line allocates %.1f times", n)
	}
	if got := metricValue(t, r.s.metrics.dropFromMismatch); got != 0 {
		t.Errorf("own line dropped as a mismatch")
	}
}

// BenchmarkRelayHandle is the relay's per-line CPU cost (check, wrap once,
// queue to 9 recipients, release) for an HSAgent register line, without a
// bundle (the default path) and with one.
func BenchmarkRelayHandle(b *testing.B) {
	line := []byte(agentLine("d8045fd9-aaaa-bbbb-cccc-0123456789ab", "", "register"))
	cases := []struct {
		name string
		rig  func(b *testing.B) (*handleRig, []byte)
	}{
		{"default", func(b *testing.B) (*handleRig, []byte) { return newHandleRig(b, ServerConfig{}, 10), line }},
		{"directed", func(b *testing.B) (*handleRig, []byte) {
			return newHandleRig(b, ServerConfig{DirectedRouting: true}, 10), line
		}},
		{"bundle/authenticated", func(b *testing.B) (*handleRig, []byte) { return authRig(b, 10, true) }},
		{"bundle/unauthenticated", func(b *testing.B) (*handleRig, []byte) {
			r, _ := authRig(b, 10, false)
			return r, []byte(agentLine("python-agent-0001", "", "register"))
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r, l := tc.rig(b)
			r.relay(l)
			b.ReportAllocs()
			b.SetBytes(int64(len(l)))
			b.ResetTimer()
			for range b.N {
				r.relay(l)
			}
		})
	}
}

// BenchmarkRelayRegistration is the cost of one agent joining over real
// TCP on 127.0.0.1: connect and get a first line through, without and
// with the authentication handshake (challenge, Ed25519 sign and verify).
func BenchmarkRelayRegistration(b *testing.B) {
	alice := newTestAgent(b, "d8045fd9-aaaa-bbbb-cccc-0123456789ab")
	for _, auth := range []bool{false, true} {
		name, line := "plain", agentLine("e8045fd9-aaaa-bbbb-cccc-0123456789ab", "", "register")+"\n"
		if auth {
			name, line = "authenticated", agentLine(alice.id, "", "register")+"\n"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := startAuthServer(b, ServerConfig{}, alice)
			rx := dialRaw(b, s.Addr())
			connected(b, s, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c := dialRaw(b, s.Addr())
				if auth {
					c.authenticate(alice)
				}
				c.send(line)
				rx.mustReadLine()
				c.nc.Close()
			}
		})
	}
}

package relay

import (
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"testing"
	"time"
)

// startAuthCluster runs n replicas sharing one trust bundle of agents, with
// directed routing and a short presence period.
func startAuthCluster(t testing.TB, n int, agents ...testAgent) ([]*Server, []func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.json")
	writeBundle(t, path, agents...)
	cfg := ServerConfig{DirectedRouting: true, TrustBundle: path, TrustBundlePoll: 20 * time.Millisecond,
		Cluster: ClusterConfig{PresencePeriod: 100 * time.Millisecond}}
	srvs, cancels := startCluster(t, n, cfg)
	stops := make([]func(), len(cancels))
	for i, c := range cancels {
		stops[i] = c
	}
	return srvs, stops
}

func knownElsewhere(t testing.TB, s *Server, id string, want bool) {
	t.Helper()
	eventually(t, "presence of "+id, func() bool { return s.presence.elsewhere([]byte(id)) == want })
}

// A directed line to an agent proven on another replica is delivered there
// only: not broadcast on the sender's replica. Lines to unproven IDs are
// still broadcast everywhere, and an agent moving between replicas keeps
// receiving its lines, alone.
func TestClusterDirectedNotBroadcastOnSenderReplica(t *testing.T) {
	alice, bob, dave := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002"), newTestAgent(t, "dave-0004")
	srvs, _ := startAuthCluster(t, 2, alice, bob, dave)
	r1, r2 := srvs[0], srvs[1]
	a, c := dialRaw(t, r1.Addr()), dialRaw(t, r1.Addr()) // c: an unauthenticated (Python) client
	b, d := dialRaw(t, r2.Addr()), dialRaw(t, r2.Addr())
	a.authenticate(alice)
	b.authenticate(bob)
	d.authenticate(dave)
	connected(t, r1, 2)
	connected(t, r2, 2)
	knownElsewhere(t, r1, bob.id, true)
	knownElsewhere(t, r2, alice.id, true)

	direct := agentLine(alice.id, bob.id, "request")
	a.send(direct + "\n")
	if got, want := b.mustReadLine(), wrapped(t, a.addr(), direct); got != want {
		t.Fatalf("bob got %q, want %q", got, want)
	}
	c.expectSilence(100 * time.Millisecond)
	d.expectSilence(10 * time.Millisecond)
	if v := metricValue(t, r1.metrics.clusterDirected); v != 1 {
		t.Errorf("r1 cluster_lines_directed_total = %v, want 1", v)
	}

	// Unknown recipient: broadcast on both replicas, as before.
	unknown := agentLine(alice.id, "python-9999", "request")
	a.send(unknown + "\n")
	for name, cl := range map[string]*rawClient{"c": c, "bob": b, "dave": d} {
		if got, want := cl.mustReadLine(), wrapped(t, a.addr(), unknown); got != want {
			t.Fatalf("%s got %q, want %q", name, got, want)
		}
	}

	// bob moves to r1.
	b.nc.Close()
	connected(t, r2, 1)
	b2 := dialRaw(t, r1.Addr())
	b2.authenticate(bob)
	knownElsewhere(t, r2, bob.id, true) // r1's "here" outlives r2's local "gone"
	knownElsewhere(t, r1, bob.id, false)
	direct2 := agentLine(dave.id, bob.id, "request")
	d.send(direct2 + "\n")
	if got, want := b2.mustReadLine(), wrapped(t, d.addr(), direct2); got != want {
		t.Fatalf("bob on r1 got %q, want %q", got, want)
	}
	a.send(direct + "\n")
	if got, want := b2.mustReadLine(), wrapped(t, a.addr(), direct); got != want {
		t.Fatalf("bob on r1 got %q, want %q", got, want)
	}
	c.expectSilence(100 * time.Millisecond)
	a.expectSilence(10 * time.Millisecond)
}

// A replica that starts late learns the others' proven IDs within a
// presence period, and forgets those of a replica that stopped.
func TestClusterPresenceLearnedAndExpired(t *testing.T) {
	alice, bob := newTestAgent(t, "alice-0001"), newTestAgent(t, "bob-0002")
	srvs, stops := startAuthCluster(t, 3, alice, bob)
	b := dialRaw(t, srvs[1].Addr())
	b.authenticate(bob)
	knownElsewhere(t, srvs[0], bob.id, true)
	knownElsewhere(t, srvs[2], bob.id, true)

	// A ghost replica that announced and then went silent (killed
	// without a goodbye) expires after presenceTTL periods.
	srvs[0].receivePresence(appendPresenceID(appendPresenceHeader(nil, presenceHere, "ghost"), alice.id))
	knownElsewhere(t, srvs[0], alice.id, true)
	start := time.Now()
	knownElsewhere(t, srvs[0], alice.id, false)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ghost entry expired after %v, want about %v", d, presenceTTL*100*time.Millisecond)
	}

	// A replica restarted: a new one joins and learns bob at once.
	stops[2]()
	cfg := srvs[0].cfg
	cfg.Listen = "127.0.0.1:0"
	cfg.Registry = nil
	cfg.Cluster.Listen = "127.0.0.1:0"
	cfg.Cluster.Routes = []string{"nats-route://" + srvs[0].bus.ns.ClusterAddr().String()}
	r3, _ := startFilteringServer(t, cfg)
	knownElsewhere(t, r3, bob.id, true)
	if v := metricValue(t, r3.presenceGauge().(prometheus.Metric)); v != 1 {
		t.Errorf("cluster_presence_ids = %v, want 1", v)
	}

	// Directed-only lines whose recipient has left are dropped, counted.
	c := dialRaw(t, r3.Addr())
	connected(t, r3, 1)
	r3.deliverRemote(encodeBusLine(nil, []byte("gone-0009"), []byte(wrapped(t, "127.0.0.1:1", `{"x":1}`))), true)
	c.expectSilence(50 * time.Millisecond)
	if v := metricValue(t, r3.metrics.clusterDirectedGone); v != 1 {
		t.Errorf("recipient gone = %v, want 1", v)
	}
}

// A shorter presence period converges sooner: a replica that died without
// goodbyes stops attracting directed lines after 3 to 4 periods, so with
// 100 ms its IDs are gone well before a 1 s period even allows (3 s).
func TestClusterShorterPresencePeriodExpiresDeadReplicaSooner(t *testing.T) {
	alice := newTestAgent(t, "alice-0001")
	expiry := func(period time.Duration) time.Duration {
		path := filepath.Join(t.TempDir(), "bundle.json")
		writeBundle(t, path, alice)
		srvs, _ := startCluster(t, 2, ServerConfig{DirectedRouting: true, TrustBundle: path,
			Cluster: ClusterConfig{PresencePeriod: period}})
		srvs[0].receivePresence(appendPresenceID(appendPresenceHeader(nil, presenceHere, "ghost"), alice.id))
		start := time.Now()
		if !srvs[0].presence.elsewhere([]byte(alice.id)) {
			t.Fatal("ghost replica's announce not applied")
		}
		knownElsewhere(t, srvs[0], alice.id, false)
		return time.Since(start)
	}
	fast, slow := expiry(100*time.Millisecond), expiry(time.Second)
	t.Logf("dead replica's IDs expired after %v (period 100ms) and %v (period 1s)", fast, slow)
	if slow < presenceTTL*time.Second {
		t.Errorf("period 1s: expired after %v, before its ttl %v", slow, presenceTTL*time.Second)
	}
	if fast >= presenceTTL*time.Second {
		t.Errorf("period 100ms: expired after %v, no sooner than the 1s period's ttl", fast)
	}
}

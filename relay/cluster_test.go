package relay

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// startCluster runs n relay replicas joined over embedded NATS (real route
// connections on 127.0.0.1, port 0) and waits until every replica sees the
// others' bus subscriptions, so a line sent next reaches all of them.
// (NumSubscriptions is no measure of that: it counts the system account's
// internal subscriptions too, so it passed before the mesh had formed and
// lines sent early were lost on slow machines.)
func startCluster(t testing.TB, n int, cfg ServerConfig) ([]*Server, []context.CancelFunc) {
	t.Helper()
	var srvs []*Server
	var stops []context.CancelFunc
	var seed string
	for i := range n {
		c := cfg
		c.Cluster = ClusterConfig{Name: "test", Listen: "127.0.0.1:0", PresencePeriod: cfg.Cluster.PresencePeriod}
		if i > 0 {
			c.Cluster.Routes = []string{seed}
		}
		s, stop := startFilteringServer(t, c)
		if i == 0 {
			seed = "nats-route://" + s.bus.ns.ClusterAddr().String()
		}
		srvs = append(srvs, s)
		stops = append(stops, stop)
	}
	for i, s := range srvs {
		eventually(t, fmt.Sprintf("replica %d to see the bus subscriptions of all %d replicas", i, n), func() bool {
			return s.bus.ns.GlobalAccount().Interest(busSubject) >= n && s.bus.routes() >= n-1
		})
	}
	return srvs, stops
}

// collect reads want lines from c in the background.
func collect(c *rawClient, want int) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var got []string
		for len(got) < want {
			line, err := c.readLine(testTimeout)
			if err != nil {
				break
			}
			got = append(got, line)
		}
		out <- got
	}()
	return out
}

func TestClusterEveryLineOnceInOrder(t *testing.T) {
	srvs, _ := startCluster(t, 3, ServerConfig{AllowPlainText: true})
	const perReplica, lines = 2, 50
	var clients []*rawClient
	for _, s := range srvs {
		for range perReplica {
			clients = append(clients, dialRaw(t, s.Addr()))
		}
		connected(t, s, perReplica)
	}
	want := (len(clients) - 1) * lines
	results := make([]<-chan []string, len(clients))
	for i, c := range clients {
		results[i] = collect(c, want)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range lines {
				c.send(fmt.Sprintf("c%d-%d\n", i, k))
			}
		}()
	}
	wg.Wait()
	for i, c := range clients {
		got := <-results[i]
		if len(got) != want {
			t.Fatalf("client %d got %d lines, want %d", i, len(got), want)
		}
		next := map[string]int{} // sender addr -> next expected k
		for _, line := range got {
			var sender string
			var ci, k int
			for j, o := range clients {
				if strings.Contains(line, o.addr()) {
					sender, ci = o.addr(), j
				}
			}
			if sender == "" || sender == c.addr() {
				t.Fatalf("client %d got %q: unknown sender or its own line", i, line)
			}
			k = next[sender]
			if line != wrapped(t, sender, fmt.Sprintf("c%d-%d", ci, k)) {
				t.Fatalf("client %d: got %q, want line %d of client %d (once, in order)", i, line, k, ci)
			}
			next[sender] = k + 1
		}
		c.expectSilence(100 * time.Millisecond) // no duplicates trail behind
	}
	var published, received float64
	for _, s := range srvs {
		published += metricValue(t, s.metrics.clusterPublished)
		received += metricValue(t, s.metrics.clusterReceived)
	}
	if published != float64(len(clients)*lines) || received != 2*published {
		t.Errorf("cluster metrics: published %v received %v, want %d and twice that", published, received, len(clients)*lines)
	}
}

func TestClusterDirectedAcrossReplicas(t *testing.T) {
	srvs, _ := startCluster(t, 3, ServerConfig{DirectedRouting: true})
	target := dialRaw(t, srvs[0].Addr())
	neighbour := dialRaw(t, srvs[0].Addr())
	sender := dialRaw(t, srvs[2].Addr())
	connected(t, srvs[0], 2)
	connected(t, srvs[2], 1)
	// The target claims its id with a line of its own, seen by all.
	hello := `{"_payload":{"from":"agent-a","type":"hello"}}`
	target.send(hello + "\n")
	if got := neighbour.mustReadLine(); got != wrapped(t, target.addr(), hello) {
		t.Fatalf("neighbour got %q", got)
	}
	if got := sender.mustReadLine(); got != wrapped(t, target.addr(), hello) {
		t.Fatalf("sender got %q", got)
	}
	eventually(t, "replica 0 to learn agent-a", func() bool { return srvs[0].hub.lookup([]byte("agent-a")) != nil })
	msg := `{"_payload":{"from":"agent-b","to":"agent-a","type":"offer"}}`
	sender.send(msg + "\n")
	if got := target.mustReadLine(); got != wrapped(t, sender.addr(), msg) {
		t.Fatalf("target got %q", got)
	}
	target.expectSilence(100 * time.Millisecond)
	neighbour.expectSilence(100 * time.Millisecond) // same replica as the target: directed, not broadcast
}

// A replica shut down mid-stream (a deleted pod) disconnects only its own
// clients; the others keep every line, in order, and its clients reconnect
// to a surviving replica and receive again.
func TestClusterReplicaKilledMidStream(t *testing.T) {
	srvs, stops := startCluster(t, 3, ServerConfig{AllowPlainText: true})
	a := dialRaw(t, srvs[0].Addr())
	b := dialRaw(t, srvs[1].Addr())
	c := dialRaw(t, srvs[2].Addr())
	for _, s := range srvs {
		connected(t, s, 1)
	}
	const lines = 200
	gotA, gotC := collect(a, lines+1), collect(c, lines+1)
	send := func(cl *rawClient, name string, from, to int) {
		for k := from; k < to; k++ {
			cl.send(fmt.Sprintf("%s-%d\n", name, k))
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); send(a, "a", 0, lines) }()
	go func() { defer wg.Done(); send(c, "c", 0, lines) }()
	go func() {
		defer wg.Done()
		stops[1]() // mid-stream: a and c are sending through it
	}()
	wg.Wait()

	// b lost its replica: it is told and cut off, and reconnects elsewhere.
	rest := b.expectEOF()
	if len(rest) == 0 || rest[len(rest)-1] != WarnShutdown {
		t.Errorf("b's last lines %q, want the shutdown warning last", rest)
	}
	b2 := dialRaw(t, srvs[0].Addr())
	connected(t, srvs[0], 2)
	c.send("c-after\n")
	// Lines a and c sent before may still be in flight to b2; it must
	// receive the new one.
	for got := ""; got != wrapped(t, c.addr(), "c-after"); {
		got = b2.mustReadLine()
	}
	a.send("a-after\n")

	for _, tc := range []struct {
		name string
		got  <-chan []string
		from *rawClient
		tag  string
	}{{"a", gotA, c, "c"}, {"c", gotC, a, "a"}} {
		got := <-tc.got
		want := []string{}
		for k := range lines {
			want = append(want, wrapped(t, tc.from.addr(), fmt.Sprintf("%s-%d", tc.tag, k)))
		}
		want = append(want, wrapped(t, tc.from.addr(), tc.tag+"-after"))
		if len(got) != len(want) {
			t.Fatalf("%s got %d lines, want %d", tc.name, len(got), len(want))
		}
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("%s line %d: got %q want %q", tc.name, k, got[k], want[k])
			}
		}
	}
}

package relay

import (
	"bufio"
	"fmt"
	"testing"
	"time"
)

// BenchmarkRelayClusterDirected: 2 replicas, 5 proven agents on each, every
// line addressed to an agent on the other replica. It reports
// deliveries/line: 1 when only the recipient gets it; each client of the
// sender's replica adds one when such lines are broadcast there too.
func BenchmarkRelayClusterDirected(b *testing.B) {
	const perReplica = 5
	var agents []testAgent
	for i := range 2 * perReplica {
		agents = append(agents, newTestAgent(b, fmt.Sprintf("agent-%04d", i)))
	}
	srvs, _ := startAuthCluster(b, 2, agents...)
	clients := make([]*rawClient, len(agents))
	for i, a := range agents {
		clients[i] = dialRaw(b, srvs[i%2].Addr())
		clients[i].authenticate(a)
	}
	for i, a := range agents {
		knownElsewhere(b, srvs[(i+1)%2], a.id, true)
	}
	out := func() float64 {
		return metricValue(b, srvs[0].metrics.linesOut) + metricValue(b, srvs[1].metrics.linesOut)
	}
	// One sender (agent 0, on replica 0) to one recipient (agent 1, on
	// replica 1), so delivery order is the bus's and the recipient's
	// count says when everything arrived.
	for _, c := range clients[2:] {
		go func() { // drain, so none is disconnected as slow
			for {
				if _, err := c.br.ReadSlice('\n'); err != nil && err != bufio.ErrBufferFull {
					return
				}
			}
		}()
	}
	line := agentLine(agents[0].id, agents[1].id, "request") + "\n"
	before := out()
	b.ResetTimer()
	go func() {
		for range b.N {
			clients[0].send(line)
		}
	}()
	for range b.N {
		clients[1].mustReadLine()
	}
	b.StopTimer()
	// Let the writers of the other clients flush what they were sent.
	prev := -1.0
	eventually(b, "other clients' writes to settle", func() bool {
		v := out()
		settled := v == prev
		prev = v
		time.Sleep(20 * time.Millisecond)
		return settled
	})
	b.ReportMetric((out()-before)/float64(b.N), "deliveries/line")
}

package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// relayLines are the relay's line counters at the end of a run, read from
// its /metrics. Every line the relay sends is one line an agent reads and
// parses, so sent/N is the parsing load per agent: the broadcast fan-out
// that directed delivery removes.
type relayLines struct {
	received, sent, directed, dropped float64
	authenticated, connections        float64
	err                               error
}

// relayLines scrapes the relay (sums over label sets).
func (r *fleetRun) relayLines() relayLines {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(r.relayMetrics)
	if err != nil {
		return relayLines{err: err}
	}
	defer resp.Body.Close()
	sums := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			sums[name] += v
		}
	}
	const p = "hsfleet_relay_"
	return relayLines{received: sums[p+"lines_received_total"], sent: sums[p+"lines_sent_total"],
		directed: sums[p+"lines_directed_total"], dropped: sums[p+"lines_dropped_total"],
		authenticated: sums[p+"connections_authenticated"], connections: sums[p+"connections"], err: sc.Err()}
}

func (l relayLines) report(b *strings.Builder, n int, cycles int64) {
	if l.err != nil {
		fmt.Fprintf(b, "relay lines:          metrics not read: %v\n", l.err)
		return
	}
	fmt.Fprintf(b, "relay lines:          %.0f received, %.0f sent (%.0f per agent, %.1f per cycle), %.0f directed, %.0f dropped\n",
		l.received, l.sent, l.sent/float64(n), l.sent/float64(max(cycles, 1)), l.directed, l.dropped)
	fmt.Fprintf(b, "relay connections:    %.0f at the end, %.0f authenticated\n", l.connections, l.authenticated)
}

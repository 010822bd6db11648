package engine

import (
	"fmt"
	"os"
	"strings"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"testing"
	"time"
)

// BenchmarkFleet runs N agents in one process against one real relay over
// TCP and real PostgreSQL, with production timers (register every 1 s,
// retries every 1 s). One op is one completed cycle, counted by the
// responder; it reports cycles/s and the p50/p99 cycle latency from
// register (or reconnect) to CLOSE SUCCESS.
//
//	go test -run '^$' -bench Fleet -benchtime 2000x ./agent/engine
//
// The server is a production-durable throwaway cluster (fsync,
// full_page_writes and synchronous_commit on; HSFLEET_TEST_DSN's server
// as configured when set). commit=sync is the store's default, every
// transition on disk before Update returns; commit=async is what agents
// run (--db-async-commit, store.Options.AsyncCommit).
// HSFLEET_BENCH_PQ_TWO_ROUND_TRIPS=1 turns lib/pq's binary_parameters off
// to measure what one round trip per statement saves.
//
// relay=broadcast is the Summoner contract (every line to every client);
// relay=directed uses the hsfleet relay's directed routing, which spares
// each agent decoding the other pairs' traffic.
func BenchmarkFleet(b *testing.B) {
	newDSN := pgtest.DSN
	if os.Getenv(pgtest.EnvDSN) == "" {
		newDSN = pgtest.NewCluster(b, pgtest.ClusterOptions{Durable: true}).NewDatabase
	}
	for _, tc := range []struct {
		n           int
		directed    bool
		asyncCommit bool
	}{{2, false, false}, {10, false, false}, {30, false, false},
		{2, false, true}, {10, false, true}, {30, false, true}, {10, true, true}, {30, true, true}} {
		mode, commit := "broadcast", "sync"
		if tc.directed {
			mode = "directed"
		}
		if tc.asyncCommit {
			commit = "async"
		}
		n := tc.n
		b.Run(fmt.Sprintf("agents=%d/relay=%s/commit=%s", n, mode, commit), func(b *testing.B) {
			f := newFleet(b, fleetOptions{stateTimeout: protocol.DefaultStateTimeout, directed: tc.directed,
				dsn: newDSN(b), asyncCommit: tc.asyncCommit,
				twoRoundTrips:    os.Getenv("HSFLEET_BENCH_PQ_TWO_ROUND_TRIPS") != "",
				registerInterval: time.Second, retryInterval: time.Second})
			ids := f.newIdentities(n)
			for _, id := range ids {
				f.start(id, f.policy())
			}
			// Warm up: every directed pair has done its first handshake.
			pairs := n * (n - 1)
			deadline := time.Now().Add(60 * time.Second)
			for f.totalCycles() < pairs && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			start := f.totalCycles()
			b.ResetTimer()
			t0 := time.Now()
			for f.totalCycles() < start+b.N {
				if time.Since(t0) > 5*time.Minute {
					b.Fatalf("only %d of %d cycles in 5 min", f.totalCycles()-start, b.N)
				}
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(t0)
			b.StopTimer()
			lat := sortedLatencies(f.eventsSince(start))
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
			b.ReportMetric(0, "ns/op")
			f.logCounters(b)
		})
	}
}

// logCounters sums the agents' drop, ignore, timeout and send-error
// counters, to explain a slow run.
func (f *fleet) logCounters(b *testing.B) {
	sums := map[string]float64{}
	for _, a := range f.agents {
		for _, c := range []struct {
			name string
			vec  interface {
				Collect(chan<- prometheus.Metric)
			}
		}{{"rejected", a.eng.m.RejectedLines}, {"ignored", a.eng.m.Ignored}, {"timeouts", a.eng.m.Timeouts},
			{"send_errors", a.eng.m.SendErrors}, {"handshakes", a.eng.m.Handshakes},
			{"store_errors", a.eng.m.StoreErrors}} {
			ch := make(chan prometheus.Metric, 64)
			go func() { c.vec.Collect(ch); close(ch) }()
			for m := range ch {
				var d dto.Metric
				m.Write(&d)
				key := c.name
				for _, l := range d.GetLabel() {
					key += "/" + l.GetValue()
				}
				sums[key] += d.GetCounter().GetValue()
			}
		}
	}
	for _, a := range f.agents {
		sums["relay_connects"] += float64(a.client.Stats().Connects)
	}
	if mfs, err := f.relay.Registry().Gather(); err == nil {
		for _, mf := range mfs {
			if strings.Contains(mf.GetName(), "drop") || strings.Contains(mf.GetName(), "stall") ||
				strings.Contains(mf.GetName(), "disconnect") {
				for _, m := range mf.GetMetric() {
					sums[mf.GetName()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	reg := prometheus.NewRegistry()
	for _, c := range store.Collectors() {
		reg.Register(c)
	}
	if mfs, err := reg.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() != "hsfleet_store_operation_duration_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				op := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == "op" {
						op = l.GetValue()
					}
				}
				if h.GetSampleCount() > 0 {
					sums["store_ms/"+op] = 1000 * h.GetSampleSum() / float64(h.GetSampleCount())
					sums["store_n/"+op] = float64(h.GetSampleCount())
				}
			}
		}
	}
	b.Logf("counters: %v", sums)
}

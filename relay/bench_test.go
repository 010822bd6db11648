package relay

import (
	"bufio"
	"fmt"
	"math"
	"math/bits"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The throughput benchmark: n clients on 127.0.0.1, each sending 300-byte
// lines as fast as the relay lets it, each receiving everybody else's. One
// op is one delivered line; lines/s and latency percentiles are measured at
// the receivers from a send timestamp carried at the end of each line.

const benchLineLen = 300 // including "\n"

func BenchmarkRelayBroadcast(b *testing.B) {
	for _, n := range []int{2, 10, 100} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			runBroadcastBench(b, n, 1, func(nc net.Conn, lines int) error { return benchSend(nc, lines) })
		})
	}
}

// BenchmarkRelayClusterBroadcast is BenchmarkRelayBroadcast with the
// clients spread round-robin over relay replicas joined by NATS routes, all
// in this process (so on 2 cores it measures the cost of the bus, not the
// capacity replicas on separate machines would add).
func BenchmarkRelayClusterBroadcast(b *testing.B) {
	for _, r := range []int{1, 3} {
		b.Run(fmt.Sprintf("clients=100/replicas=%d", r), func(b *testing.B) {
			runBroadcastBench(b, 100, r, func(nc net.Conn, lines int) error { return benchSend(nc, lines) })
		})
	}
}

// BenchmarkRelayPacedLatency offers a fixed load below saturation (open
// loop, every sender paced), where latency is the relay's own, not the
// queueing a saturated closed loop builds in every buffer on the way.
func BenchmarkRelayPacedLatency(b *testing.B) {
	for _, tt := range []struct{ clients, deliveriesPerSec int }{{2, 200_000}, {10, 500_000}, {100, 1_000_000}} {
		b.Run(fmt.Sprintf("clients=%d/offered=%d", tt.clients, tt.deliveriesPerSec), func(b *testing.B) {
			perSender := float64(tt.deliveriesPerSec) / float64(tt.clients*(tt.clients-1))
			runBroadcastBench(b, tt.clients, 1, func(nc net.Conn, lines int) error {
				return benchSendPaced(nc, lines, perSender)
			})
		})
	}
}

// runBroadcastBench connects n clients, runs send on each (lines per
// client) while every client counts what it receives. One op is one
// delivered line.
func runBroadcastBench(b *testing.B, n, replicas int, send func(nc net.Conn, lines int) error) {
	// Healthy but CPU-starved clients on a shared machine can pause for
	// longer than the production stuck window; this measures throughput,
	// not slow-client detection.
	cfg := ServerConfig{StuckTimeout: 2 * time.Second}
	srvs := []*Server{}
	if replicas > 1 {
		srvs, _ = startCluster(b, replicas, cfg)
	} else {
		s, _ := startFilteringServer(b, cfg)
		srvs = append(srvs, s)
	}
	perClient := max(1, (b.N+n*(n-1)-1)/(n*(n-1)))
	want := perClient * (n - 1)

	senders := make([]net.Conn, n)
	for i := range senders {
		senders[i] = dialRaw(b, srvs[i%len(srvs)].Addr()).nc
	}
	for i, s := range srvs {
		connected(b, s, (n-i+len(srvs)-1)/len(srvs))
	}
	sum := func(m func(*metrics) float64) float64 {
		t := 0.0
		for _, s := range srvs {
			t += m(s.metrics)
		}
		return t
	}
	slowDisconnects := func() float64 {
		return sum(func(m *metrics) float64 { return metricValue(b, m.disconnects.WithLabelValues(reasonSlow)) })
	}

	hists := make([]latencyHist, n)
	counts := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	var failOnce sync.Once
	fail := func(err error) {
		errs <- err
		if err != nil {
			// One broken client would leave the others waiting for lines
			// that never come: stop everyone.
			failOnce.Do(func() {
				for _, nc := range senders {
					nc.Close()
				}
			})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpuStart := time.Now(), processCPU()
	for i, nc := range senders {
		wg.Add(2)
		go func() { defer wg.Done(); fail(send(nc, perClient)) }()
		go func() {
			defer wg.Done()
			var err error
			counts[i], err = benchReceive(nc, want, &hists[i])
			fail(err)
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	b.StopTimer()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatalf("%v (slow disconnects %v)", err, slowDisconnects())
		}
	}
	var total latencyHist
	delivered := 0
	for i := range hists {
		total.merge(&hists[i])
		delivered += counts[i]
	}
	if slow := slowDisconnects(); slow != 0 {
		b.Fatalf("%v clients disconnected as slow during the benchmark", slow)
	}
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "lines/s")
	// On a shared machine wall-clock rates depend on the neighbours; lines
	// per CPU-second of this process (relay and clients together) do not.
	b.ReportMetric(float64(delivered)/cpu.Seconds(), "lines/cpu-s")
	b.ReportMetric(total.quantile(0.50).Seconds()*1e3, "p50-ms")
	b.ReportMetric(total.quantile(0.99).Seconds()*1e3, "p99-ms")
	b.ReportMetric(sum(func(m *metrics) float64 { return metricValue(b, m.stalls) })/float64(perClient*n), "stalls/line")
	b.ReportMetric(sum(func(m *metrics) float64 { return metricValue(b, m.linesOut) })/
		sum(func(m *metrics) float64 { return metricValue(b, m.writes) }), "lines/write")
	if replicas > 1 {
		b.ReportMetric(sum(func(m *metrics) float64 { return metricValue(b, m.clusterDropped) }), "bus-drops")
	}
}

// benchSendPaced sends lines at perSec, in small bursts every few
// milliseconds, each line stamped when its burst is written.
func benchSendPaced(nc net.Conn, lines int, perSec float64) error {
	// Wake about once per line at low rates, every 2 ms at high ones: a
	// hundred senders polling every 2 ms for nothing would cost the relay
	// the CPU it is being measured on.
	tick := max(2*time.Millisecond, time.Duration(float64(time.Second)/perSec))
	buf := make([]byte, 0, 256<<10)
	start := time.Now()
	for sent := 0; sent < lines; {
		due := min(lines, int(time.Since(start).Seconds()*perSec)+1)
		if due > sent {
			buf = buf[:0]
			now := time.Now().UnixNano()
			for ; sent < due && len(buf)+benchLineLen <= cap(buf); sent++ {
				buf = appendBenchLine(buf, now)
			}
			if _, err := nc.Write(buf); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		time.Sleep(tick)
	}
	return nil
}

// benchSend writes perClient lines in 64 KiB batches, stamping each batch
// with the time it is handed to the kernel.
func benchSend(nc net.Conn, perClient int) error {
	const perBatch = 64 << 10 / benchLineLen
	buf := make([]byte, 0, perBatch*benchLineLen)
	for sent := 0; sent < perClient; {
		buf = buf[:0]
		now := time.Now().UnixNano()
		for k := 0; k < perBatch && sent < perClient; k++ {
			buf = appendBenchLine(buf, now)
			sent++
		}
		if _, err := nc.Write(buf); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	return nil
}

// appendBenchLine appends a 299-byte JSON object ending in a 19-digit
// timestamp and "}", then "\n": a line the client filter passes.
func appendBenchLine(dst []byte, nanos int64) []byte {
	dst = append(dst, `{"p":"`...)
	for range benchLineLen - 1 - 19 - len(`{"p":"","t":}`) {
		dst = append(dst, 'p')
	}
	dst = append(dst, `","t":`...)
	var ts [19]byte
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	dst = append(dst, ts[:]...)
	return append(dst, '}', '\n')
}

// benchReceive counts want lines and samples their latency.
func benchReceive(nc net.Conn, want int, h *latencyHist) (int, error) {
	br := bufio.NewReaderSize(nc, 256<<10)
	_ = nc.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for got := 0; got < want; got++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return got, fmt.Errorf("receive after %d of %d lines: %w", got, want, err)
		}
		if got%4 != 0 {
			continue
		}
		// wrapper ends with <19-digit timestamp>}"}\n
		if len(line) < 23 {
			return got, fmt.Errorf("short line %q", line)
		}
		var ts int64
		for _, c := range line[len(line)-23 : len(line)-4] {
			ts = ts*10 + int64(c-'0')
		}
		h.add(time.Duration(time.Now().UnixNano() - ts))
	}
	return want, nil
}

// latencyHist is a log-linear histogram (16 sub-buckets per power of two
// of microseconds): constant memory, ~6% resolution, no allocation.
type latencyHist struct{ counts [64 * 16]uint64 }

func (h *latencyHist) add(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	h.counts[bucketOf(us)]++
}

func bucketOf(us uint64) int {
	if us < 16 {
		return int(us)
	}
	exp := bits.Len64(us) - 5 // keep 4 bits of mantissa below the top bit
	return min(exp*16+int(us>>exp), len(latencyHist{}.counts)-1)
}

// bucketUpper is the largest value in bucket i, in microseconds.
func bucketUpper(i int) uint64 {
	if i < 32 {
		return uint64(i)
	}
	exp := i/16 - 1
	return (uint64(i-exp*16)+1)<<exp - 1
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

func (h *latencyHist) quantile(q float64) time.Duration {
	var total uint64
	for _, c := range h.counts {
		total += c
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			return time.Duration(bucketUpper(i)) * time.Microsecond
		}
	}
	return 0
}

func TestLatencyHistQuantiles(t *testing.T) {
	var h latencyHist
	for us := 1; us <= 1000; us++ {
		h.add(time.Duration(us) * time.Microsecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if math.Abs(float64(got-tt.want))/float64(tt.want) > 0.07 {
			t.Errorf("q%.2f = %v, want %v within 7%%", tt.q, got, tt.want)
		}
	}
}

// BenchmarkRelayMemoryPerConnection reports heap and stack in use per idle
// client, relay side plus the bare client sockets of this process (a few
// hundred bytes each). Run it with -benchtime=1x; every op dials 500
// clients.
func BenchmarkRelayMemoryPerConnection(b *testing.B) {
	const conns = 500
	s, _ := startServer(b, ServerConfig{})
	for b.Loop() {
		b.StopTimer()
		before := memInUse()
		b.StartTimer()
		cs := make([]net.Conn, conns)
		for i := range cs {
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			cs[i] = nc
		}
		connected(b, s, conns)
		b.StopTimer()
		b.ReportMetric(float64(memInUse()-before)/conns, "B/conn")
		for _, nc := range cs {
			nc.Close()
		}
		connected(b, s, 0)
		b.StartTimer()
	}
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

package relay

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// A client that stops reading must be cut off without holding back anyone
// else: the others finish their whole exchange while it still reads nothing
// (with head-of-line blocking this test would hang until its timeout).
func TestRelaySlowReaderIsDisconnectedWhileOthersKeepFullRate(t *testing.T) {
	const (
		fast      = 3
		perClient = 8000
		lineLen   = 250
	)
	s, _ := startServer(t, ServerConfig{
		QueueBytes:       2 << 20, // headroom for fast clients starved of CPU on a busy machine
		StallBytes:       16 << 10,
		SocketSendBuffer: 32 << 10,
		WriteTimeout:     2 * time.Second,
	})
	stuck := dialRaw(t, s.Addr())
	cs := make([]*rawClient, fast)
	index := map[string]int{}
	for i := range cs {
		cs[i] = dialRaw(t, s.Addr())
		index[cs[i].addr()] = i
	}
	connected(t, s, fast+1)

	var wg sync.WaitGroup
	errs := make(chan error, 2*fast)
	for i, c := range cs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for seq := range perClient {
				line := fmt.Sprintf("client %d line %d ", i, seq)
				b.WriteString(line + strings.Repeat("p", lineLen-len(line)) + "\n")
			}
			_, err := io.WriteString(c.nc, b.String())
			errs <- err
		}()
		go func() {
			defer wg.Done()
			errs <- receivePadded(c, i, index, fast, perClient)
		}()
	}
	start := time.Now()
	wg.Wait()
	t.Logf("fast clients done in %v; sender stalls %v", time.Since(start), metricValue(t, s.metrics.stalls))
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	eventually(t, "the stuck client to be disconnected as slow", func() bool {
		return metricValue(t, s.metrics.disconnects.WithLabelValues(reasonSlow)) == 1
	})
	t.Logf("slow disconnect counted after %v", time.Since(start))
	if got := metricValue(t, s.metrics.disconnects.WithLabelValues(reasonSlow)); got != 1 {
		t.Errorf("slow disconnects = %v, want 1", got)
	}
	// The stuck client finally reads: some relayed lines, maybe the warning
	// on a line of its own, then EOF.
	lines := stuck.expectEOF()
	t.Logf("stuck client read %d lines to EOF after %v", len(lines), time.Since(start))
	for i, l := range lines {
		isWarning := strings.HasPrefix(l, "Warning:")
		if isWarning && (l != WarnSlow || i != len(lines)-1) {
			t.Errorf("line %d of %d: %q; a warning may only be the slow warning, last", i, len(lines), l)
		}
		if !isWarning && !strings.HasPrefix(l, `{"remote_addr": `) && i != len(lines)-1 {
			t.Errorf("line %d of %d is neither a wrapper nor the final cut line: %.60q", i, len(lines), l)
		}
	}
	if len(lines) >= fast*perClient {
		t.Errorf("stuck client received %d lines; it should have been cut off early", len(lines))
	}
}

// receivePadded is receiveAll for the padded lines of the slow test.
func receivePadded(c *rawClient, self int, index map[string]int, clients, perClient int) error {
	next := make([]int, clients)
	for range (clients - 1) * perClient {
		line, err := c.readLine(testTimeout)
		if err != nil {
			return fmt.Errorf("client %d: read after %v lines: %w", self, next, err)
		}
		addr, content, ok := splitWrapper(line)
		from, known := index[addr]
		if !ok || !known || from == self {
			return fmt.Errorf("client %d: unexpected line %.80q", self, line)
		}
		if want := fmt.Sprintf("client %d line %d ", from, next[from]); !strings.HasPrefix(content, want) {
			return fmt.Errorf("client %d: got %.40q, want prefix %q", self, content, want)
		}
		next[from]++
	}
	return nil
}

// splitWrapper takes apart a wrapper whose content needs no unescaping.
func splitWrapper(line string) (addr, content string, ok bool) {
	rest, ok := strings.CutPrefix(line, `{"remote_addr": "`)
	if !ok {
		return "", "", false
	}
	addr, rest, ok = strings.Cut(rest, `", "content": "`)
	if !ok {
		return "", "", false
	}
	content, ok = strings.CutSuffix(rest, "\"}\n")
	return addr, content, ok
}

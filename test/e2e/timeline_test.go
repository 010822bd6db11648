//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rollTimeline records, while agent pods are replaced, when each step of
// an agent's return was first seen (relative to start): the old pod
// terminating and gone, the new pod created, running, ready, proven to the
// relay, and its first and second completed cycles (its own counters).
// It polls every 250 ms, so each time is within that of the event.
type rollTimeline struct {
	c      *cluster
	start  time.Time
	old    map[string]types.UID
	mu     sync.Mutex
	seen   map[string]map[string]time.Duration // agent -> step -> first seen
	final  map[string]map[string]float64       // agent -> new pod's metrics, last read
	stop   context.CancelFunc
	done   chan struct{}
	names  []string
	steps  []string
	podUID map[string]types.UID
}

var rollSteps = []string{"old terminating", "old gone", "new created", "new running", "new ready", "relay authenticated", "cycle 1", "cycle 2"}

// watchRoll starts sampling the named agents' pods; old maps agent -> the
// UID of the pod being replaced.
func watchRoll(c *cluster, names []string, old map[string]types.UID) *rollTimeline {
	ctx, cancel := context.WithCancel(context.Background())
	r := &rollTimeline{c: c, start: time.Now(), old: old, seen: map[string]map[string]time.Duration{},
		final: map[string]map[string]float64{}, stop: cancel, done: make(chan struct{}), names: names,
		steps: rollSteps, podUID: map[string]types.UID{}}
	for _, n := range names {
		r.seen[n] = map[string]time.Duration{}
	}
	go r.run(ctx)
	return r
}

func (r *rollTimeline) mark(agent, step string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[agent][step]; !ok {
		r.seen[agent][step] = time.Since(r.start)
	}
}

func (r *rollTimeline) run(ctx context.Context) {
	defer close(r.done)
	for ctx.Err() == nil {
		r.sample(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *rollTimeline) sample(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pods, err := r.c.core.CoreV1().Pods(r.c.ns).List(cctx, metav1.ListOptions{LabelSelector: agentLabel})
	if err != nil {
		return
	}
	oldPresent := map[string]bool{}
	for _, p := range pods.Items {
		n := p.Labels[agentLabel]
		if _, ok := r.seen[n]; !ok {
			continue
		}
		if p.UID == r.old[n] {
			oldPresent[n] = true
			if p.DeletionTimestamp != nil {
				r.mark(n, "old terminating")
			}
			continue
		}
		r.mark(n, "new created")
		if p.Status.Phase == corev1.PodRunning {
			r.mark(n, "new running")
		}
		ready := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if ready {
			r.mark(n, "new ready")
		}
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		m, err := r.c.agentMetrics(cctx, p.Name)
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.final[n], r.podUID[n] = m, p.UID
		r.mu.Unlock()
		if m["hsfleet_agent_relay_authenticated"] == 1 {
			r.mark(n, "relay authenticated")
		}
		cycles := sumSeries(m, "hsfleet_agent_cycles_total")
		if cycles >= 1 {
			r.mark(n, "cycle 1")
		}
		if cycles >= 2 {
			r.mark(n, "cycle 2")
		}
	}
	for _, n := range r.names {
		if !oldPresent[n] {
			r.mark(n, "old gone")
		}
	}
}

// awaitStep waits up to bound for every agent to reach step and returns
// those that did not.
func (r *rollTimeline) awaitStep(step string, bound time.Duration) []string {
	deadline := time.Now().Add(bound)
	for {
		var missing []string
		r.mu.Lock()
		for _, n := range r.names {
			if _, ok := r.seen[n][step]; !ok {
				missing = append(missing, n)
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report stops sampling, logs the timeline and the new pods' recovery
// counters (state timeouts, restarted cycles, ignored and rejected lines,
// failed handshakes), and writes their logs to dir (when set).
func (r *rollTimeline) report(t *testing.T, dir string) {
	t.Helper()
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s", "step")
	for _, n := range r.names {
		fmt.Fprintf(&b, " %8s", n)
	}
	b.WriteString("\n")
	for _, s := range r.steps {
		fmt.Fprintf(&b, "%-20s", s)
		for _, n := range r.names {
			if d, ok := r.seen[n][s]; ok {
				fmt.Fprintf(&b, " %7.2fs", d.Seconds())
			} else {
				fmt.Fprintf(&b, " %8s", "-")
			}
		}
		b.WriteString("\n")
	}
	for _, n := range r.names {
		var series []string
		for k, v := range r.final[n] {
			for _, f := range []string{"hsfleet_agent_state_timeouts_total", "hsfleet_agent_cycles_restarted_total",
				"hsfleet_agent_ignored_messages_total", "hsfleet_agent_rejected_lines_total", "hsfleet_agent_steps_discarded_total",
				"hsfleet_agent_relay_auth_failures_total", `hsfleet_agent_handshakes_total{reason`, "hsfleet_agent_send_errors_total"} {
				if strings.HasPrefix(k, f) && v != 0 {
					series = append(series, fmt.Sprintf("%s=%v", k, v))
				}
			}
		}
		slices.Sort(series)
		fmt.Fprintf(&b, "%s (new pod): %s\n", n, strings.Join(series, " "))
	}
	t.Logf("roll timeline (seconds after the change, first seen):\n%s", b.String())
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("roll logs: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range r.names {
		data, err := r.c.core.CoreV1().Pods(r.c.ns).GetLogs(n+"-0", &corev1.PodLogOptions{Container: "agent", Timestamps: true}).DoRaw(ctx)
		if err != nil {
			data = []byte("error: " + err.Error())
		}
		if err := os.WriteFile(filepath.Join(dir, n+"-0.log"), data, 0o644); err != nil {
			t.Logf("roll logs: %v", err)
		}
	}
	t.Logf("new pods' logs in %s", dir)
}

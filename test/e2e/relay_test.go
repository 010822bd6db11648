//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// relayRecoveryBound is how long after a relay pod is deleted every pair
// must show a new cycle in status: one agent state timeout (10 s, a
// conversation cut by the lost connection recovers after it) plus the
// status lag of ci/e2e-values.yaml (2 s poll, 4 s counter interval) and
// the suite's 2 s polling. E2E_RELAY_RECOVERY overrides it.
const relayRecoveryBound = 20 * time.Second

func (c *cluster) relayStatefulSet(cfg config) string { return cfg.release + "-relay" }

// relayPods lists the relay's running pods by name.
func (c *cluster) relayPods(ctx context.Context, cfg config) ([]corev1.Pod, error) {
	l, err := c.core.CoreV1().Pods(cfg.namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=relay,app.kubernetes.io/instance=" + cfg.release})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// relayMetrics reads one relay pod's /metrics through the API server's pod
// proxy (which takes a port number, not a name).
func (c *cluster) relayMetrics(ctx context.Context, cfg config, pod corev1.Pod) (map[string]float64, error) {
	port := ""
	for _, ctr := range pod.Spec.Containers {
		for _, p := range ctr.Ports {
			if p.Name == "metrics" {
				port = strconv.Itoa(int(p.ContainerPort))
			}
		}
	}
	if port == "" {
		return nil, fmt.Errorf("relay pod %s declares no metrics port", pod.Name)
	}
	body, err := c.core.CoreV1().Pods(cfg.namespace).ProxyGet("http", pod.Name, port, "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s:%s/metrics through the API server proxy: %w", pod.Name, port, err)
	}
	return parseMetrics(string(body)), nil
}

// relayReplicas is the StatefulSet's desired replica count.
func relayReplicas(ctx context.Context, t *testing.T, cfg config, c *cluster) int {
	t.Helper()
	sts, err := c.core.AppsV1().StatefulSets(cfg.namespace).Get(ctx, c.relayStatefulSet(cfg), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("relay StatefulSet: %v", err)
	}
	if sts.Spec.Replicas == nil {
		return 1
	}
	return int(*sts.Spec.Replicas)
}

// phaseRelayReplicas checks every relay replica is up and routed to every
// other, that the agents are spread over more than one replica (an agent
// pod is restarted, to be balanced again by the Service, until they are),
// and that the fleet then cycles across replicas: lines cross the NATS
// routes in both directions.
func phaseRelayReplicas(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	want := relayReplicas(ctx, t, cfg, c)
	t.Logf("relay replicas: %d", want)
	eventually(t, cfg.timeout, "every relay replica routed to every other", func(ctx context.Context) error {
		pods, err := c.relayPods(ctx, cfg)
		if err != nil {
			return err
		}
		if len(pods) != want {
			return fmt.Errorf("%d relay pods running, want %d", len(pods), want)
		}
		for _, p := range pods {
			m, err := c.relayMetrics(ctx, cfg, p)
			if err != nil {
				return err
			}
			if want > 1 && m["hsfleet_relay_cluster_routes"] < float64(want-1) {
				return fmt.Errorf("%s has %v routes, want %d", p.Name, m["hsfleet_relay_cluster_routes"], want-1)
			}
		}
		return nil
	})
	checkRelayMetrics(t, cfg, c)
	if want < 2 {
		return
	}
	spreadAgents(t, cfg, c)
	before := relayCounters(t, cfg, c)
	waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
	after := relayCounters(t, cfg, c)
	for pod, a := range after {
		b := before[pod]
		t.Logf("%s: connections %v, bus published +%v, received +%v", pod, a["hsfleet_relay_connections"],
			a["hsfleet_relay_cluster_lines_published_total"]-b["hsfleet_relay_cluster_lines_published_total"],
			a["hsfleet_relay_cluster_lines_received_total"]-b["hsfleet_relay_cluster_lines_received_total"])
		if a["hsfleet_relay_cluster_lines_published_total"] <= b["hsfleet_relay_cluster_lines_published_total"] ||
			a["hsfleet_relay_cluster_lines_received_total"] <= b["hsfleet_relay_cluster_lines_received_total"] {
			t.Errorf("%s did not both publish and receive bus lines while agents on two replicas cycled", pod)
		}
		if a["hsfleet_relay_cluster_lines_dropped_total"] > 0 || a["hsfleet_relay_cluster_lines_malformed_total"] > 0 {
			t.Errorf("%s dropped %v / refused %v bus lines", pod, a["hsfleet_relay_cluster_lines_dropped_total"], a["hsfleet_relay_cluster_lines_malformed_total"])
		}
	}
}

// relayCounters reads every relay pod's metrics.
func relayCounters(t *testing.T, cfg config, c *cluster) map[string]map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := c.relayPods(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, p := range pods {
		m, err := c.relayMetrics(ctx, cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = m
	}
	return out
}

// connectionsByRelay maps relay pod -> connected clients.
func connectionsByRelay(ctx context.Context, cfg config, c *cluster) (map[string]int, error) {
	pods, err := c.relayPods(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range pods {
		m, err := c.relayMetrics(ctx, cfg, p)
		if err != nil {
			return nil, err
		}
		out[p.Name] = int(m["hsfleet_relay_connections"])
	}
	return out, nil
}

// spreadAgents restarts agent pods until at least two relay replicas hold
// agents. The Service picks a replica at random per connection, so with 3
// agents on 2 replicas a restart fixes a lopsided spread half the time.
func spreadAgents(t *testing.T, cfg config, c *cluster) {
	t.Helper()
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		var conns map[string]int
		eventually(t, cfg.timeout, "every agent connected to a relay", func(ctx context.Context) error {
			var err error
			if conns, err = connectionsByRelay(ctx, cfg, c); err != nil {
				return err
			}
			total, used := 0, 0
			for _, n := range conns {
				total += n
				if n > 0 {
					used++
				}
			}
			if total < len(sampleNames) {
				return fmt.Errorf("relay connections %v, want %d agents", conns, len(sampleNames))
			}
			return nil
		})
		used := 0
		for _, n := range conns {
			if n > 0 {
				used++
			}
		}
		t.Logf("agents per relay replica: %v", conns)
		if used >= 2 {
			return
		}
		if attempt == 8 {
			t.Fatalf("agents stayed on one relay replica after %d agent restarts: %v", attempt, conns)
		}
		agent := sampleNames[attempt%len(sampleNames)]
		old, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, agent+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.core.CoreV1().Pods(cfg.namespace).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPodReplaced(t, cfg, c, agent+"-0", old.UID)
	}
}

// phaseDeleteRelayPod deletes the relay replica holding the most agents
// while the fleet cycles: its agents reconnect to the other replica(s)
// and every directed pair completes a new cycle within relayRecoveryBound.
func phaseDeleteRelayPod(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	if relayReplicas(ctx, t, cfg, c) < 2 {
		t.Skip("one relay replica: covered by the deleted agent pod phase")
	}
	conns, err := connectionsByRelay(ctx, cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	victim := ""
	for pod, n := range conns {
		if victim == "" || n > conns[victim] {
			victim = pod
		}
	}
	old, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, victim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := snapshot(t, c, sampleNames)
	start := time.Now()
	if err := c.core.CoreV1().Pods(cfg.namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("deleted relay pod %s holding %d of the agents (%v)", victim, conns[victim], conns)
	bound := relayRecoveryBound
	if v := envOr("E2E_RELAY_RECOVERY", ""); v != "" {
		if bound, err = time.ParseDuration(v); err != nil {
			t.Fatalf("E2E_RELAY_RECOVERY=%q: %v", v, err)
		}
	}
	waitFleetCyclingN(t, cfg, c, sampleNames, base, 1)
	took := time.Since(start)
	t.Logf("every pair completed a cycle %s after the relay pod was deleted (bound %s)", took.Round(100*time.Millisecond), bound)
	if took > bound {
		t.Errorf("recovery took %s, more than %s", took.Round(100*time.Millisecond), bound)
	}
	waitPodReplaced(t, cfg, c, victim, old.UID)
	waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
	checkAgentsAuthenticated(t, cfg, c) // the moved agents proved their IDs again
}

// waitPodReplaced waits for a pod name to be held by a new, ready pod.
func waitPodReplaced(t *testing.T, cfg config, c *cluster, name string, oldUID types.UID) {
	t.Helper()
	eventually(t, cfg.timeout, name+" recreated and ready", func(ctx context.Context) error {
		p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.UID == oldUID {
			return fmt.Errorf("old pod %s still there", p.UID)
		}
		if len(p.Status.ContainerStatuses) == 0 {
			return fmt.Errorf("pod %s has no container status yet", p.UID)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready {
				return fmt.Errorf("container %s not ready", cs.Name)
			}
		}
		return nil
	})
}

// checkRelayMetrics: the metrics Service answers (through the API server's
// service proxy) and the replicas together count every agent and relay lines.
func checkRelayMetrics(t *testing.T, cfg config, c *cluster) {
	t.Helper()
	eventually(t, time.Minute, "relay metrics", func(ctx context.Context) error {
		svc := cfg.release + "-relay"
		body, err := c.core.CoreV1().Services(cfg.namespace).ProxyGet("http", svc, "metrics", "/metrics", nil).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("GET %s/metrics through the API server proxy: %w", svc, err)
		}
		if !strings.Contains(string(body), "hsfleet_relay_connections") {
			return fmt.Errorf("%s/metrics has no hsfleet_relay_connections", svc)
		}
		pods, err := c.relayPods(ctx, cfg)
		if err != nil {
			return err
		}
		sum := map[string]float64{}
		for _, p := range pods {
			m, err := c.relayMetrics(ctx, cfg, p)
			if err != nil {
				return err
			}
			for _, k := range []string{"hsfleet_relay_connections", "hsfleet_relay_lines_received_total", "hsfleet_relay_lines_sent_total"} {
				sum[k] += m[k]
			}
		}
		if got := sum["hsfleet_relay_connections"]; got < float64(len(sampleNames)) {
			return fmt.Errorf("hsfleet_relay_connections over the replicas = %v, want >= %d", got, len(sampleNames))
		}
		if sum["hsfleet_relay_lines_received_total"] <= 0 || sum["hsfleet_relay_lines_sent_total"] <= 0 {
			return fmt.Errorf("relays have not relayed lines: %v", sum)
		}
		return nil
	})
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// otherNames are the HSAgents of the second namespace: a fleet of their
// own (agents admit only peers of their namespace's trust bundle) on the
// release's relay.
var otherNames = []string{"dave", "erin"}

// in returns the clients scoped to another namespace.
func (c *cluster) in(ns string) *cluster {
	cc := *c
	cc.ns = ns
	return &cc
}

// ensureNamespace creates ns unless it exists: agentNamespaces entries must
// exist before helm install creates Roles and Secrets in them.
func ensureNamespace(t *testing.T, c *cluster, ns string) {
	t.Helper()
	_, err := c.core.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// relayTrustSource is "api" when the relay reads every namespace's bundle
// through the API (--trust-source=api), "file" when it mounts the release
// namespace's bundle, "" without authentication.
func relayTrustSource(t *testing.T, cfg config, c *cluster) string {
	t.Helper()
	sts, err := c.core.AppsV1().StatefulSets(cfg.namespace).Get(context.Background(), c.relayStatefulSet(cfg), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("relay StatefulSet: %v", err)
	}
	for _, a := range sts.Spec.Template.Spec.Containers[0].Args {
		switch {
		case a == "--trust-source=api":
			return "api"
		case strings.HasPrefix(a, "--trust-bundle="):
			return "file"
		}
	}
	return ""
}

// createAgentIn creates an HSAgent named name in ns from the plain sample.
func createAgentIn(t *testing.T, cfg config, c *cluster, ns, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cfg.root, "config", "samples", "hsfleet_v1alpha1_hsagent_alice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetName(name)
	u.SetNamespace(ns)
	if _, err := c.in(ns).hsagents().Create(context.Background(), &u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create HSAgent %s/%s: %v", ns, name, err)
	}
}

// agentPodMetrics reads the metrics of each named agent's pod in c's namespace.
func agentPodMetrics(ctx context.Context, c *cluster, names []string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	for _, n := range names {
		m, err := c.agentMetrics(ctx, n+"-0")
		if err != nil {
			return nil, err
		}
		out[n] = m
	}
	return out, nil
}

// phaseSecondNamespace: two HSAgents in a namespace other than the
// release's cycle with each other through the release's relay. With
// relay.auth.source=api (hack/e2e-local.sh) they prove their IDs, the
// every replica holds the merged bundle of both namespaces (no conflicts).
// With the file source (the chart default) they go on unauthenticated. Either way
// each namespace stays a fleet of its own and both keep cycling.
func phaseSecondNamespace(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	other := c.in(cfg.otherNamespace)
	l, err := c.hsagents().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var home []string // the release namespace's agents left by earlier phases
	for _, it := range l.Items {
		home = append(home, it.GetName())
	}
	slices.Sort(home)
	source := relayTrustSource(t, cfg, c)
	t.Logf("relay trust source: %q; second namespace %s", source, cfg.otherNamespace)
	if source == "" {
		t.Skip("relay without authentication: nothing to prove across namespaces")
	}
	start := time.Now()
	for _, n := range otherNames {
		createAgentIn(t, cfg, c, cfg.otherNamespace, n)
	}
	homeBase := snapshot(t, c, home)
	waitFleetCycling(t, cfg, other, otherNames, nil)
	t.Logf("%v in %s cycling %s after their creation", otherNames, cfg.otherNamespace, time.Since(start).Round(100*time.Millisecond))

	wantAuth := map[string]float64{"api": 1, "file": 0}[source]
	wantRelayAuth := len(home)
	if source == "api" {
		wantRelayAuth += len(otherNames)
	}
	eventually(t, 30*time.Second, "relay authentication of both namespaces' agents", func(ctx context.Context) error {
		ms, err := agentPodMetrics(ctx, other, otherNames)
		if err != nil {
			return err
		}
		for n, m := range ms {
			if got := m["hsfleet_agent_relay_authenticated"]; got != wantAuth {
				return fmt.Errorf("%s/%s: hsfleet_agent_relay_authenticated %v, want %v with the %s source", cfg.otherNamespace, n, got, wantAuth, source)
			}
		}
		pods, err := c.relayPods(ctx, cfg)
		if err != nil {
			return err
		}
		authenticated := 0.0
		for _, p := range pods {
			m, err := c.relayMetrics(ctx, cfg, p)
			if err != nil {
				return err
			}
			authenticated += m["hsfleet_relay_connections_authenticated"]
			wantBundle := float64(len(home))
			if source == "api" {
				wantBundle += float64(len(otherNames))
			}
			if got := m["hsfleet_relay_trust_bundle_agents"]; got != wantBundle {
				return fmt.Errorf("%s: trust_bundle_agents %v, want %v", p.Name, got, wantBundle)
			}
			if got := m["hsfleet_relay_trust_bundle_conflicts"]; got != 0 {
				return fmt.Errorf("%s: trust_bundle_conflicts %v, want 0", p.Name, got)
			}
		}
		if authenticated != float64(wantRelayAuth) {
			return fmt.Errorf("authenticated relay connections %v, want %d", authenticated, wantRelayAuth)
		}
		return nil
	})

	// Delivery: while dave and erin complete two more cycles, count the
	// lines addressed to another agent that alice and bob receive.
	before, err := agentPodMetrics(ctx, c, home)
	if err != nil {
		t.Fatal(err)
	}
	otherBefore, err := agentPodMetrics(ctx, other, otherNames)
	if err != nil {
		t.Fatal(err)
	}
	var otherAfter map[string]map[string]float64
	eventually(t, 30*time.Second, fmt.Sprintf("%v complete 2 more cycles each (agent metrics)", otherNames), func(ctx context.Context) error {
		if otherAfter, err = agentPodMetrics(ctx, other, otherNames); err != nil {
			return err
		}
		for _, n := range otherNames {
			if d := sumSeries(otherAfter[n], "hsfleet_agent_cycles_total") - sumSeries(otherBefore[n], "hsfleet_agent_cycles_total"); d < 2 {
				return fmt.Errorf("%s: +%v cycles", n, d)
			}
		}
		return nil
	})
	after, err := agentPodMetrics(ctx, c, home)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0.0
	for _, n := range otherNames {
		sent += sumSeries(otherAfter[n], "hsfleet_agent_messages_total", `direction="out"`) - sumSeries(otherBefore[n], "hsfleet_agent_messages_total", `direction="out"`)
	}
	for _, n := range home {
		notForUs := sumSeries(after[n], "hsfleet_agent_rejected_lines_total", `reason="not_for_us"`) - sumSeries(before[n], "hsfleet_agent_rejected_lines_total", `reason="not_for_us"`)
		t.Logf("%s received %v lines addressed to others while %v sent %v", n, notForUs, otherNames, sent)
		// Every agent here is proven, so a directed line reaches only its
		// recipient, on whichever replica (relay presence, docs/relay-ha.md).
		// Before presence, 28–56 of dave and erin's 59 lines reached each
		// agent; a few may still while a replica learns a moved agent.
		if notForUs > sent/4 {
			t.Errorf("%s received %v lines addressed to others (of %v sent): directed delivery leaks across replicas", n, notForUs, sent)
		}
	}

	// Two fleets: neither namespace's agents count the other's as peers.
	views := waitFleetCycling(t, cfg, c, home, homeBase)
	for _, n := range home {
		if views[n].PeerCount != int64(len(home)-1) {
			t.Errorf("%s counts %d peers, want %d (the other namespace is another fleet)", n, views[n].PeerCount, len(home)-1)
		}
	}
	t.Logf("second namespace phase took %s", time.Since(start).Round(100*time.Millisecond))
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	databaseHashAnnotation = "hsfleet.io/database-secret-hash"
	agentLabel             = "hsfleet.io/agent"
)

// rollFirstCycleBound: once every pod has rolled (new pod ready), each
// agent's new pod completes a cycle within it: relay authentication and one
// handshake with peers that are all up take well under a second each; the
// rest is the timeline's 250 ms sampling and a metrics scrape per pod.
// E2E_ROLL_FIRST_CYCLE overrides it.
const rollFirstCycleBound = 6 * time.Second

// phaseDatabaseSecretChange rewrites the chart's database Secret with an
// equivalent DSN (one harmless parameter more): the operator's hash of the
// Secret changes, so every agent's pod rolls (one pod per agent at any
// time: one StatefulSet per agent), keeps its agent ID and cycles again.
func phaseDatabaseSecretChange(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	secrets := c.core.CoreV1().Secrets(cfg.namespace)
	l, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=database,app.kubernetes.io/instance=" + cfg.release})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Fatalf("%d database Secrets of release %s, want 1", len(l.Items), cfg.release)
	}
	sec := l.Items[0]
	u, err := url.Parse(string(sec.Data["dsn"]))
	if err != nil || u.Scheme == "" {
		t.Fatalf("database Secret %s: dsn is not a URL: %v", sec.Name, err)
	}
	q := u.Query()
	q.Set("application_name", "hsfleet-e2e")
	u.RawQuery = q.Encode()

	before := map[string]agentView{}
	oldUID := map[string]types.UID{}
	oldHash := map[string]string{}
	for _, n := range sampleNames {
		if before[n], err = c.agent(ctx, n); err != nil {
			t.Fatal(err)
		}
		p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, n+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		oldUID[n] = p.UID
		oldHash[n] = p.Annotations[databaseHashAnnotation]
	}

	sec.Data["dsn"] = []byte(u.String())
	timeline := watchRoll(c, sampleNames, oldUID)
	if _, err := secrets.Update(ctx, &sec, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update database Secret %s: %v", sec.Name, err)
	}
	start := time.Now()
	maxPods := map[string]int{}
	eventually(t, cfg.timeout, "every agent's pod rolled to the new database Secret", func(ctx context.Context) error {
		pods, err := c.core.CoreV1().Pods(cfg.namespace).List(ctx, metav1.ListOptions{LabelSelector: agentLabel})
		if err != nil {
			return err
		}
		count := map[string]int{}
		for _, p := range pods.Items {
			count[p.Labels[agentLabel]]++
		}
		for n, k := range count {
			maxPods[n] = max(maxPods[n], k)
		}
		for _, n := range sampleNames {
			if err := podMatchesTemplate(ctx, cfg, c, n, oldUID[n], databaseHashAnnotation); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		return nil
	})
	t.Logf("all agents rolled %s after the Secret change; most pods seen at once per agent: %v", time.Since(start).Round(time.Second), maxPods)
	for n, k := range maxPods {
		if k > 1 {
			t.Errorf("agent %s had %d pods at once while rolling, want at most 1", n, k)
		}
	}
	for _, n := range sampleNames {
		p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, n+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Annotations[databaseHashAnnotation] == oldHash[n] {
			t.Errorf("%s's pod rolled but its %s is still %q", n, databaseHashAnnotation, oldHash[n])
		}
	}
	rolled := time.Since(start)
	bound := rollFirstCycleBound
	if v := envOr("E2E_ROLL_FIRST_CYCLE", ""); v != "" {
		if bound, err = time.ParseDuration(v); err != nil {
			t.Fatalf("E2E_ROLL_FIRST_CYCLE=%q: %v", v, err)
		}
	}
	if missing := timeline.awaitStep("cycle 1", bound); len(missing) > 0 {
		t.Errorf("new pods of %v completed no cycle within %s of the roll finishing (%s after the Secret change)", missing, bound, rolled.Round(100*time.Millisecond))
	} else {
		t.Logf("every new pod completed its first cycle within %s of the roll finishing", bound)
	}
	// The status follow-up (+2 per pair) also waits on the operator's
	// status interval: logged for the timeline, not a pass/fail bound.
	base := snapshot(t, c, sampleNames)
	if err := poll(cfg.timeout, func(ctx context.Context) error {
		_, err := fleetCycling(ctx, c, sampleNames, base, minCyclesPerPeer)
		return err
	}); err != nil {
		t.Logf("status follow-up: not every pair +%d cycles within %s: %v", minCyclesPerPeer, cfg.timeout, err)
	} else {
		t.Logf("status follow-up: every pair +%d cycles %s after the Secret change", minCyclesPerPeer, time.Since(start).Round(100*time.Millisecond))
	}
	timeline.report(t, filepath.Join(cfg.artifacts, "database-secret-roll"))
	for _, n := range sampleNames {
		v, err := c.agent(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if v.AgentID != before[n].AgentID || v.SignPub != before[n].SignPub {
			t.Errorf("%s's identity changed with the database Secret: %s -> %s", n, before[n], v)
		}
	}
}

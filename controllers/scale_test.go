package controllers

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// TestTwoHundredAgentsReachIdentityReady creates 200 HSAgents at once and
// waits for all of them to be IdentityReady with a complete trust bundle.
// It logs throughput and memory; it asserts only correctness.
func TestTwoHundredAgentsReachIdentityReady(t *testing.T) {
	const agents = 200
	ns := newNamespace(t)
	cfg := testOperatorConfig()
	cfg.StatusInterval = 15 * time.Second // the production default
	startOperator(t, ns, cfg)
	_, c := testEnv(t)
	ctx := context.Background()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < agents; i += 8 {
				if err := c.Create(ctx, newHSAgent(ns, fmt.Sprintf("agent-%03d", i))); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	created := time.Since(start)

	var peakHeap uint64
	eventually(t, 8*time.Minute, func() error {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		var list hsv1.HSAgentList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			if conditionIs(&list.Items[i], hsv1.ConditionIdentityReady, metav1.ConditionTrue, "") == nil {
				ready++
			}
		}
		if ready != agents {
			return fmt.Errorf("%d/%d IdentityReady", ready, agents)
		}
		return nil
	})
	elapsed := time.Since(start)

	var list hsv1.HSAgentList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	bundle := readTrustBundle(t, ns)
	ids := map[string]bool{}
	for _, a := range list.Items {
		if ids[a.Status.AgentID] {
			t.Errorf("duplicate agent ID %s", a.Status.AgentID)
		}
		ids[a.Status.AgentID] = true
		if bundle[a.Status.AgentID] != a.Status.Identity.SignPublicKey {
			t.Errorf("%s: bundle entry %q, status key %q", a.Name, bundle[a.Status.AgentID], a.Status.Identity.SignPublicKey)
		}
	}
	if len(bundle) != agents {
		t.Errorf("bundle has %d entries, want %d", len(bundle), agents)
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("reconcile throughput: %d HSAgents IdentityReady in %s (created in %s): %.1f HSAgents/s",
		agents, elapsed.Round(time.Millisecond), created.Round(time.Millisecond), agents/elapsed.Seconds())
	t.Logf("operator memory at %d HSAgents (in-process manager + test client): heap in use %.1f MiB peak while reconciling (sampled every 100 ms), %.1f MiB after GC; Go runtime total %.1f MiB; process RSS %s",
		agents, float64(peakHeap)/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20), processRSS())
}

// processRSS is VmRSS from /proc/self/status, or "unknown".
func processRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// orphanedLabel marks Secrets kept by stateReclaimPolicy Retain
// (api/v1alpha1/reclaim_policy.go).
const orphanedLabel = "hsfleet.io/orphaned-by-hsfleet"

// phaseRetainAndRecreate: alice with stateReclaimPolicy Retain is deleted;
// her Secrets and rows stay; an HSAgent re-created with her name (the
// plain sample) adopts them, keeps her agent ID and keys, and her peers
// cycle with her again.
func phaseRetainAndRecreate(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	before, err := c.agent(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	oldPod, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, "alice-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("alice's StatefulSet pod: %v", err)
	}
	if _, err := c.hsagents().Patch(ctx, "alice", types.MergePatchType, []byte(`{"spec":{"stateReclaimPolicy":"Retain"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("set alice's stateReclaimPolicy to Retain: %v", err)
	}
	if err := c.hsagents().Delete(ctx, "alice", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	selector := agentLabel + "=alice," + orphanedLabel + "=true"
	eventually(t, cfg.timeout, "alice gone from the API, her Secrets kept and marked retained", func(ctx context.Context) error {
		if _, err := c.hsagents().Get(ctx, "alice", metav1.GetOptions{}); !isNotFound(err) {
			return fmt.Errorf("HSAgent alice still exists (finalizer pending?): %v", err)
		}
		l, err := c.core.CoreV1().Secrets(cfg.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(l.Items) == 0 {
			return fmt.Errorf("no Secret labelled %s", selector)
		}
		return nil
	})
	if cfg.databaseDSN != "" {
		if sum := rowSummary(t, cfg, before.AgentID); sum.PeerCount == 0 {
			t.Fatalf("alice's rows were not retained: %+v", sum)
		}
	}

	createSample(t, cfg, c, "alice")
	// The status of the new HSAgent may show the retained rows at once:
	// only cycles counted after her new pod is ready prove that it runs with
	// the adopted identity and that the peers accept it.
	waitPodWithIdentity(t, cfg, c, "alice", oldPod.UID)
	views := waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
	if got := views["alice"]; got.AgentID != before.AgentID || got.SignPub != before.SignPub {
		t.Fatalf("re-created alice did not adopt her identity: %s key %s, was %s key %s", got.AgentID, got.SignPub, before.AgentID, before.SignPub)
	}
	l, err := c.core.CoreV1().Secrets(cfg.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Errorf("%d Secrets still labelled %s after the adoption", len(l.Items), selector)
	}
}

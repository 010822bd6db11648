//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// trustRejections are the agent's hs failure reasons that mean "this key is
// not the peer's key" (agent/engine/metrics.go hsFailureReason): a rotation
// with overlap must not produce any of them.
var trustRejections = []string{"bad_signature", "unknown_agent", "key_mismatch", "key_changed"}

// rejectionCounters is what the rotation phase compares before and after:
// each peer pod's failed hs validations by reason, and the relays'
// refused authentications.
type rejectionCounters struct {
	peerPods map[string]types.UID          // agent -> pod UID the counters came from
	peer     map[string]map[string]float64 // agent -> reason -> failed handshakes
	relay    map[string]float64            // auth_attempts_total result -> sum over replicas
}

func readRejections(t *testing.T, cfg config, c *cluster, peers []string) rejectionCounters {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := rejectionCounters{peerPods: map[string]types.UID{}, peer: map[string]map[string]float64{}, relay: map[string]float64{}}
	for _, n := range peers {
		pod, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, n+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s's pod: %v", n, err)
		}
		m, err := c.agentMetrics(ctx, pod.Name)
		if err != nil {
			t.Fatal(err)
		}
		out.peerPods[n] = pod.UID
		out.peer[n] = map[string]float64{
			"ok":     sumSeries(m, "hsfleet_agent_handshakes_total", `result="ok"`),
			"failed": sumSeries(m, "hsfleet_agent_handshakes_total", `result="failed"`),
		}
		for _, r := range trustRejections {
			out.peer[n][r] = sumSeries(m, "hsfleet_agent_handshakes_total", `result="failed"`, `reason="`+r+`"`)
		}
	}
	for _, m := range relayCounters(t, cfg, c) {
		for _, r := range []string{"ok", "bad_signature", "unknown_id"} {
			out.relay[r] += sumSeries(m, "hsfleet_relay_auth_attempts_total", `result="`+r+`"`)
		}
	}
	return out
}

// phaseRotateIdentity rotates bob's keys with overlap (docs/rotation.md):
// the bundle lists both keys while bob still signs with the old one, the
// pod rolls, the old key retires; no peer and no relay refuses bob at any
// point, and bob keeps his agent ID.
func phaseRotateIdentity(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	peers := []string{"alice", "carol"}
	before, err := c.agent(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	oldPod, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, "bob-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bob's StatefulSet pod: %v", err)
	}
	base := readRejections(t, cfg, c, peers)
	t.Logf("before the rotation: peers' failed hs %v, relay auth attempts %v", base.peer, base.relay)

	start := time.Now()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"hsfleet.io/rotate-identity":%q}}}`, start.UTC().Format(time.RFC3339Nano))
	if _, err := c.hsagents().Patch(ctx, "bob", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("annotate bob: %v", err)
	}

	var newKey string
	eventually(t, cfg.timeout, "Rotating=True/PublishingNewKey with bob's old and new key in the bundle", func(ctx context.Context) error {
		v, err := c.agent(ctx, "bob")
		if err != nil {
			return err
		}
		if got := v.Conditions["Rotating"]; got != "True/PublishingNewKey" {
			return fmt.Errorf("bob's Rotating condition is %q", got)
		}
		bundle, err := trustBundle(ctx, c)
		if err != nil {
			return err
		}
		e := bundle[before.AgentID]
		if !e.Object || e.Key != before.SignPub || len(e.Keys) != 1 || e.Keys[0] == before.SignPub {
			return fmt.Errorf("bundle entry for bob is %+v, want {key: old %s, keys: [new]}", e, before.SignPub)
		}
		newKey = e.Keys[0]
		return nil
	})

	// Through the swap and the retirement: record each Rotating reason seen.
	var seen []string
	var rotated agentView
	eventually(t, cfg.timeout, "Rotating=False/RotationComplete, bob's new key alone in the bundle", func(ctx context.Context) error {
		v, err := c.agent(ctx, "bob")
		if err != nil {
			return err
		}
		if cond := v.Conditions["Rotating"]; len(seen) == 0 || seen[len(seen)-1] != cond {
			seen = append(seen, cond)
			t.Logf("+%s Rotating=%s", time.Since(start).Round(time.Second), cond)
		}
		if got := v.Conditions["Rotating"]; got != "False/RotationComplete" {
			return fmt.Errorf("bob's Rotating condition is %q", got)
		}
		if v.SignPub != newKey {
			return fmt.Errorf("bob's status key %s, want the published new key %s", v.SignPub, newKey)
		}
		bundle, err := trustBundle(ctx, c)
		if err != nil {
			return err
		}
		if e := bundle[before.AgentID]; e.Object || e.Key != newKey {
			return fmt.Errorf("bundle entry for bob is %+v, want the plain string %s", e, newKey)
		}
		rotated = v
		return nil
	})
	t.Logf("rotation took %s; Rotating reasons seen: %s", time.Since(start).Round(time.Second), strings.Join(seen, " -> "))
	if !slices.Contains(seen, "True/RetiringOldKey") {
		t.Errorf("never saw Rotating=True/RetiringOldKey (seen %v)", seen)
	}
	if rotated.AgentID != before.AgentID {
		t.Fatalf("rotation changed bob's agent ID: %s -> %s", before.AgentID, rotated.AgentID)
	}
	waitPodWithIdentity(t, cfg, c, "bob", oldPod.UID)
	// The baseline is taken only now that bob's new pod runs: cycles counted
	// from here on were signed with the new key, and prove the peers
	// accepted it through the bundle (Fleet trust rejects unknown keys).
	views := waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
	if views["bob"].SignPub != newKey || views["bob"].AgentID != before.AgentID {
		t.Fatalf("bob's identity moved again after the rotation: %s", views["bob"])
	}

	after := readRejections(t, cfg, c, append(peers, "bob"))
	t.Logf("after the rotation: failed hs %v, relay auth attempts %v", after.peer, after.relay)
	for _, n := range peers {
		if base.peer[n]["ok"] == 0 || after.peer[n]["ok"] <= base.peer[n]["ok"] {
			t.Fatalf("%s's hsfleet_agent_handshakes_total{result=\"ok\"} went %v -> %v: the counters read are not the ones the agent moves", n, base.peer[n]["ok"], after.peer[n]["ok"])
		}
		if after.peerPods[n] != base.peerPods[n] {
			t.Fatalf("%s's pod restarted during the rotation: its counters cannot be compared", n)
		}
		for _, r := range trustRejections {
			if d := after.peer[n][r] - base.peer[n][r]; d != 0 {
				t.Errorf("%s refused %v hs with reason %s during bob's rotation, want 0", n, d, r)
			}
		}
		if d := after.peer[n]["failed"] - base.peer[n]["failed"]; d != 0 {
			t.Logf("%s: %v hs failed for reasons other than trust during the rotation (pod restart)", n, d)
		}
	}
	for _, r := range trustRejections {
		if got := after.peer["bob"][r]; got != 0 {
			t.Errorf("bob's new pod refused %v peer hs with reason %s, want 0", got, r)
		}
	}
	if d := after.relay["bad_signature"] - base.relay["bad_signature"]; d != 0 {
		t.Errorf("relays refused %v authentications with bad_signature during the rotation, want 0", d)
	}
	if d := after.relay["unknown_id"] - base.relay["unknown_id"]; d != 0 {
		t.Logf("relays refused %v authentications with unknown_id during the rotation", d)
	}
}

// waitPodWithIdentity waits for the agent's pod to be replaced (a UID other
// than oldUID) by one whose identity-hash annotation matches the
// StatefulSet's current template, i.e. a pod that mounted the rotated
// identity, and for it to be ready.
func waitPodWithIdentity(t *testing.T, cfg config, c *cluster, agent string, oldUID types.UID) {
	t.Helper()
	waitPodTemplateHash(t, cfg, c, agent, oldUID, "hsfleet.io/identity-hash")
}

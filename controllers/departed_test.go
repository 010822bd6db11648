package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// departedBound is how soon a deleted agent must leave its peers' status:
// a few status polls (500 ms in tests), far below the fleet cache's resync
// (20 polls), which is what used to bound it (34 s in the e2e at 2 s).
const departedBound = 4 * time.Second

// peersOf reads an agent's status: peer count, cycles and sampled peer IDs.
func peersOf(t testing.TB, ns, name string) (int32, int64, []string) {
	t.Helper()
	a := getHSAgent(t, ns, name)
	var ids []string
	for _, p := range a.Status.Peers {
		ids = append(ids, p.AgentID)
	}
	return a.Status.PeerCount, a.Status.Cycles, ids
}

// waitPeers waits until name's status shows peers peers and cycles cycles,
// with gone in its sample or not, and returns how long that took.
func waitPeers(t *testing.T, ns, name string, peers int32, cycles int64, gone string, shown bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, timeout, func() error {
		n, c, ids := peersOf(t, ns, name)
		if n != peers || c != cycles || slices.Contains(ids, gone) != shown {
			return fmt.Errorf("%s: peerCount %d cycles %d peers %v; want %d, %d, %s shown=%v", name, n, c, ids, peers, cycles, gone, shown)
		}
		return nil
	})
	return time.Since(start)
}

// A deleted HSAgent leaves its peers' status within a few polls, while its
// pod still stops and whatever stateReclaimPolicy leaves in the database; a
// peer the operator does not manage stays. Under Retain it stays hidden
// across an operator restart (the orphaned identity Secret says so) and is a
// peer again as soon as a re-created HSAgent adopts the identity.
func TestDeletedAgentLeavesPeersStatus(t *testing.T) {
	for _, policy := range []hsv1.StateReclaimPolicy{hsv1.ReclaimDelete, hsv1.ReclaimRetain} {
		t.Run(string(policy), func(t *testing.T) {
			ns := newNamespace(t)
			dsn := testDSN(t)
			createDatabaseSecret(t, ns, "hsfleet-db", dsn)
			op := startOperator(t, ns, testOperatorConfig())
			st := openTestStore(t, dsn)
			_, c := testEnv(t)
			ctx := context.Background()

			gone := newHSAgent(ns, "gone")
			gone.Spec.StateReclaimPolicy = policy
			createHSAgent(t, gone)
			createHSAgent(t, newHSAgent(ns, "stays"))
			g := waitCondition(t, ns, "gone", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
			s := waitCondition(t, ns, "stays", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
			goneID, staysID := g.Status.AgentID, s.Status.AgentID
			at := time.Now().UTC().Truncate(time.Second)
			writeConversation(t, st, goneID, store.Initiator, staysID, 3, at, true)
			writeConversation(t, st, staysID, store.Responder, goneID, 2, at, true)
			// "outsider" is no HSAgent (a Python agent, say): never hidden.
			writeConversation(t, st, staysID, store.Initiator, "outsider", 4, at, false)
			waitPeers(t, ns, "stays", 2, 6, goneID, true, 10*time.Second)

			// Deleted, pod still running (the finalizer waits for it): gone
			// from the peer's status already.
			setStatefulSetPods(t, ns, "gone", 1)
			if err := c.Delete(ctx, getHSAgent(t, ns, "gone")); err != nil {
				t.Fatal(err)
			}
			took := waitPeers(t, ns, "stays", 1, 4, goneID, false, departedBound)
			t.Logf("%s: deleted agent left its peer's status after %s (pod still running)", policy, took.Round(10*time.Millisecond))

			awaitAgentGone(t, ns, "gone", 30*time.Second)
			// A poll after the finalizer (a new cycle with the outsider
			// shows) still hides it, whatever rows are left.
			writeConversation(t, st, staysID, store.Initiator, "outsider", 1, time.Now().UTC(), false)
			waitPeers(t, ns, "stays", 1, 5, goneID, false, departedBound)
			if policy == hsv1.ReclaimDelete {
				return
			}
			if sum, err := st.Summary(ctx, staysID, 10); err != nil || sum.PeerCount != 2 {
				t.Fatalf("Retain: the peer's rows with the retained agent should stay: %+v, %v", sum, err)
			}

			// A restarted operator knows nothing of the deletion but the
			// orphaned identity Secret.
			op.Stop(t)
			startOperator(t, ns, testOperatorConfig())
			writeConversation(t, st, staysID, store.Initiator, "outsider", 1, time.Now().UTC(), false)
			waitPeers(t, ns, "stays", 1, 6, goneID, false, 10*time.Second)

			// Re-created: adopts the identity and is a peer again with its
			// retained rows, without a new cycle.
			again := newHSAgent(ns, "gone")
			again.Spec.StateReclaimPolicy = policy
			createHSAgent(t, again)
			if a := waitCondition(t, ns, "gone", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ""); a.Status.AgentID != goneID {
				t.Fatalf("re-created agent did not adopt %s: %s", goneID, a.Status.AgentID)
			}
			took = waitPeers(t, ns, "stays", 2, 8, goneID, true, departedBound)
			t.Logf("re-created agent back in its peer's status after %s", took.Round(10*time.Millisecond))
		})
	}
}

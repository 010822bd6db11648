package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dto "github.com/prometheus/client_model/go"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// With the database down, deletion retries for the finalizer grace period
// (--finalizer-database-grace), then lets the HSAgent go and says the rows
// were left behind.
func TestFinalizerReleasesAfterDatabaseGrace(t *testing.T) {
	ns := newNamespace(t)
	createDatabaseSecret(t, ns, "hsfleet-db", "postgres://hs:pw@"+blackHole(t)+"/none?sslmode=disable&connect_timeout=1")
	cfg := testOperatorConfig()
	cfg.StateCleanupGrace = 5 * time.Second
	cfg.DatabaseTimeout = time.Second
	startOperator(t, ns, cfg)
	_, c := testEnv(t)

	rowErrors := rowDeleteErrors(t)
	createHSAgent(t, newHSAgent(ns, "stranded"))
	a := waitCondition(t, ns, "stranded", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	if err := c.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		setStatefulSetPods(t, ns, "stranded", 0)
		if err := conditionIs(getHSAgent(t, ns, "stranded"), hsv1.ConditionStateReclaimed, metav1.ConditionFalse, ReasonRowsDeleteFailed); err != nil {
			return err
		}
		return hasEvent(t, a, EventStateDeleteFailed) // retrying, not given up
	})
	deleted := getHSAgent(t, ns, "stranded").DeletionTimestamp.Time
	awaitAgentGone(t, ns, "stranded", 30*time.Second)
	if waited := time.Since(deleted); waited < cfg.StateCleanupGrace {
		t.Fatalf("finalizer released after %s, before the %s grace", waited, cfg.StateCleanupGrace)
	}
	if err := hasEvent(t, a, EventStateRetained); err != nil {
		t.Fatalf("no event saying the rows were left: %v", err)
	}
	// Each failed attempt counts for the alert (op="rows", result="error").
	if n := rowDeleteErrors(t) - rowErrors; n < 2 {
		t.Errorf("%v failed row deletions counted; want every retry (at least 2)", n)
	}
}

// Deleting a namespace with running agents: the namespace controller
// (played here; envtest has none) deletes the database Secret, the
// StatefulSets and the HSAgents in no particular order. Every finalizer
// completes, without creating anything in the terminating namespace, and
// the agents' rows in the shared database are deleted with the DSN the
// Secret held.
func TestNamespaceDeletionWithLiveAgents(t *testing.T) {
	ns, st := operatorWithDatabase(t)
	_, c := testEnv(t)
	ctx := context.Background()

	names := []string{"left", "right"}
	ids := map[string]string{}
	for _, n := range names {
		createHSAgent(t, newHSAgent(ns, n))
	}
	for _, n := range names {
		ids[n] = waitCondition(t, ns, n, hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored).Status.AgentID
	}
	at := time.Now().UTC().Truncate(time.Second)
	writeConversation(t, st, ids["left"], store.Initiator, ids["right"], 2, at, true)
	writeConversation(t, st, ids["right"], store.Responder, ids["left"], 2, at, true)
	for _, n := range names {
		setStatefulSetPods(t, ns, n, 1) // live agents
		waitCondition(t, ns, n, hsv1.ConditionHandshaking, metav1.ConditionTrue, ReasonCyclesCompleted)
	}

	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
	var nsObj corev1.Namespace
	if err := c.Get(ctx, types.NamespacedName{Name: ns}, &nsObj); err != nil || nsObj.DeletionTimestamp == nil {
		t.Fatalf("namespace not terminating: %v", err)
	}
	// The namespace controller's order is arbitrary; the worst case first.
	if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hsfleet-db"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := c.Delete(ctx, getHSAgent(t, ns, n)); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		awaitAgentGone(t, ns, n, 30*time.Second)
	}
	for n, id := range ids {
		if sum, err := st.Summary(ctx, id, 10); err != nil || sum.Cycles != 0 || sum.PeerCount != 0 {
			t.Errorf("rows of %s left after namespace deletion: %+v, err %v", n, sum, err)
		}
	}
}

// rowDeleteErrors reads the reclaim metric's op="rows", result="error".
func rowDeleteErrors(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := reclaimOps.WithLabelValues(reclaimOpRows, "error").Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

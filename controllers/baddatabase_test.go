package controllers

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// blackHole accepts TCP connections and never answers: the worst database,
// one that costs every caller its full deadline.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// One namespace's database hangs every connection; agents in another
// namespace, on a healthy database, still get identities, status and
// deletion in normal time (bounded here at 30 s on a loaded machine; the
// hung database costs a poll worker 3 s per attempt, never a reconcile).
func TestHungDatabaseInOneNamespaceDoesNotDelayAnother(t *testing.T) {
	bad, good := newNamespace(t), newNamespace(t)
	createDatabaseSecret(t, bad, "hsfleet-db", "postgres://hs:hunter2pw@"+blackHole(t)+"/none?sslmode=disable")
	dsn := testDSN(t)
	createDatabaseSecret(t, good, "hsfleet-db", dsn)
	startOperatorWith(t, ManagerOptions{
		Namespaces: []string{bad, good}, MetricsAddr: "0", ProbeAddr: "0", SkipControllerNameValidation: true,
	}, testOperatorConfig())

	const n = 4
	for i := 0; i < n; i++ {
		createHSAgent(t, newHSAgent(bad, fmt.Sprintf("bad-%d", i)))
	}
	// The bad namespace's agents are being polled (and time out) first.
	time.Sleep(time.Second)
	start := time.Now()
	for i := 0; i < n; i++ {
		createHSAgent(t, newHSAgent(good, fmt.Sprintf("good-%d", i)))
	}
	const bound = 30 * time.Second
	ids := map[string]string{}
	eventually(t, bound, func() error {
		for i := 0; i < n; i++ {
			a := getHSAgent(t, good, fmt.Sprintf("good-%d", i))
			if err := conditionIs(a, hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored); err != nil {
				return err
			}
			if err := conditionIs(a, hsv1.ConditionHandshaking, metav1.ConditionFalse, ReasonNoRecentCycles); err != nil {
				return err
			}
			ids[a.Name] = a.Status.AgentID
		}
		return nil
	})
	t.Logf("%d agents next to a hung database: identities and status from their database in %s", n, time.Since(start).Round(time.Millisecond))

	// A cycle in the healthy database reaches status while the other
	// database still hangs.
	st := openTestStore(t, dsn)
	writeConversation(t, st, ids["good-0"], store.Initiator, ids["good-1"], 1, time.Now().UTC(), false)
	start = time.Now()
	waitCondition(t, good, "good-0", hsv1.ConditionHandshaking, metav1.ConditionTrue, ReasonCyclesCompleted)
	t.Logf("a new cycle reached status in %s", time.Since(start).Round(time.Millisecond))

	// Deletion in the healthy namespace finishes (rows deleted) meanwhile.
	_, c := testEnv(t)
	if err := c.Delete(context.Background(), getHSAgent(t, good, "good-0")); err != nil {
		t.Fatal(err)
	}
	eventually(t, bound, func() error {
		if sts := getStatefulSet(t, good, "good-0"); sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
			return fmt.Errorf("good-0 not scaled to zero yet")
		}
		return nil
	})
	setStatefulSetPods(t, good, "good-0", 0) // envtest has no StatefulSet controller
	eventually(t, bound, func() error {
		err := c.Get(context.Background(), types.NamespacedName{Namespace: good, Name: "good-0"}, &hsv1.HSAgent{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("good-0 still present (err %v)", err)
	})

	// And the hung database is reported where it belongs.
	for i := 0; i < n; i++ {
		waitCondition(t, bad, fmt.Sprintf("bad-%d", i), hsv1.ConditionHandshaking, metav1.ConditionUnknown, ReasonDatabaseUnreachable)
	}
}

package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestDeletionCleansRowsAndBundleEntry(t *testing.T) {
	tests := []struct {
		name       string
		retain     bool
		wantCycles int64 // left for the deleted agent
	}{
		{name: "Delete removes rows, Secrets and entry", retain: false, wantCycles: 0},
		{name: "deprecated retainState reads as Retain: rows and Secrets kept, entry removed", retain: true, wantCycles: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNamespace(t)
			dsn := testDSN(t)
			createDatabaseSecret(t, ns, "hsfleet-db", dsn)
			startOperator(t, ns, testOperatorConfig())
			st := openTestStore(t, dsn)
			_, c := testEnv(t)
			ctx := context.Background()

			gone := newHSAgent(ns, "gone")
			gone.Spec.RetainState = tt.retain
			createHSAgent(t, gone)
			createHSAgent(t, newHSAgent(ns, "stays"))
			g := waitCondition(t, ns, "gone", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
			s := waitCondition(t, ns, "stays", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
			at := time.Now().UTC().Truncate(time.Second)
			writeConversation(t, st, g.Status.AgentID, store.Initiator, s.Status.AgentID, 3, at, true)
			writeConversation(t, st, s.Status.AgentID, store.Responder, g.Status.AgentID, 2, at, true)
			writeConversation(t, st, s.Status.AgentID, store.Initiator, "third", 4, at, false)
			eventually(t, 10*time.Second, func() error {
				if b := readTrustBundle(t, ns); b[g.Status.AgentID] == "" || b[s.Status.AgentID] == "" {
					return fmt.Errorf("bundle %v lacks an agent", b)
				}
				return nil
			})

			// The agent pod runs, as the StatefulSet controller reports it.
			setStatefulSetPods(t, ns, "gone", 1)
			if err := c.Delete(ctx, getHSAgent(t, ns, "gone")); err != nil {
				t.Fatal(err)
			}

			// Cleanup first stops the pod and waits for it: a running agent
			// would write its rows back.
			eventually(t, 10*time.Second, func() error {
				sts := getStatefulSet(t, ns, "gone")
				if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
					return fmt.Errorf("StatefulSet not scaled to zero (replicas %v)", sts.Spec.Replicas)
				}
				return nil
			})
			time.Sleep(3 * podStopPollInterval / 2) // at least one requeue while the pod still runs
			if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "gone"}, &hsv1.HSAgent{}); err != nil {
				t.Fatalf("HSAgent released while its pod still runs: %v", err)
			}
			if sum, err := st.Summary(ctx, g.Status.AgentID, 10); err != nil || sum.Cycles != 3 {
				t.Fatalf("rows touched while the pod still runs: cycles %d, err %v", sum.Cycles, err)
			}
			if b := readTrustBundle(t, ns); b[g.Status.AgentID] == "" {
				t.Fatal("bundle entry removed while the pod still runs")
			}

			setStatefulSetPods(t, ns, "gone", 0)
			eventually(t, 30*time.Second, func() error {
				err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "gone"}, &hsv1.HSAgent{})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return fmt.Errorf("HSAgent still present (err %v)", err)
			})

			for _, name := range []string{IdentitySecretName(g), GeneratedPassphraseSecretName(g)} {
				err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &corev1.Secret{})
				if kept := err == nil; kept != tt.retain {
					t.Errorf("Secret %s kept = %v (err %v), want %v", name, kept, err, tt.retain)
				}
			}
			b := readTrustBundle(t, ns)
			if _, ok := b[g.Status.AgentID]; ok {
				t.Errorf("bundle still holds the deleted agent")
			}
			if b[s.Status.AgentID] != s.Status.Identity.SignPublicKey {
				t.Errorf("bundle lost the remaining agent")
			}
			sumGone, err := st.Summary(ctx, g.Status.AgentID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if sumGone.Cycles != tt.wantCycles {
				t.Errorf("deleted agent has %d cycles left, want %d", sumGone.Cycles, tt.wantCycles)
			}
			sumStays, err := st.Summary(ctx, s.Status.AgentID, 10)
			if err != nil {
				t.Fatal(err)
			}
			wantStays := int64(4)
			if tt.retain {
				wantStays = 6 // its conversation with the retained agent stays too
			}
			if sumStays.Cycles != wantStays {
				t.Errorf("remaining agent has %d cycles, want %d", sumStays.Cycles, wantStays)
			}
		})
	}
}

func getStatefulSet(t testing.TB, ns, name string) *appsv1.StatefulSet {
	t.Helper()
	_, c := testEnv(t)
	sts := &appsv1.StatefulSet{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, sts); err != nil {
		t.Fatalf("get StatefulSet %s: %v", name, err)
	}
	return sts
}

// setStatefulSetPods plays the StatefulSet controller envtest lacks: it
// reports that many pods for the current generation.
func setStatefulSetPods(t testing.TB, ns, name string, pods int32) {
	t.Helper()
	_, c := testEnv(t)
	eventually(t, 10*time.Second, func() error {
		sts := getStatefulSet(t, ns, name)
		patch := client.MergeFromWithOptions(sts.DeepCopy(), client.MergeFromWithOptimisticLock{})
		sts.Status.ObservedGeneration = sts.Generation
		sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = pods, pods, pods
		return c.Status().Patch(context.Background(), sts, patch)
	})
}

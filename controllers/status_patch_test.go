package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// A status computed from a copy read before another writer's status change
// must not replace that change: the merge patch carries the resourceVersion
// it was computed from, conflicts, and the operator recomputes from a fresh
// read, keeping the other writer's condition.
func TestStatusPatchDoesNotOverwriteConcurrentWriter(t *testing.T) {
	ns := newNamespace(t)
	_, c := testEnv(t)
	ctx := context.Background()
	startOperator(t, ns, testOperatorConfig())
	createHSAgent(t, newHSAgent(ns, "locked"))
	stale := waitCondition(t, ns, "locked", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)

	// The concurrent writer: another controller adds its own condition.
	const external = "ExternalCheck"
	fresh := stale.DeepCopy()
	meta.SetStatusCondition(&fresh.Status.Conditions, metav1.Condition{Type: external, Status: metav1.ConditionTrue,
		Reason: "Checked", Message: "set by another writer", ObservedGeneration: fresh.Generation})
	if err := c.Status().Update(ctx, fresh); err != nil {
		t.Fatalf("concurrent status write: %v", err)
	}

	// A reconcile that read the object before that write.
	r := &HSAgentReconciler{Client: c}
	mine := stale.DeepCopy()
	setCondition(mine, hsv1.ConditionHandshaking, metav1.ConditionUnknown, ReasonWaitingForStatusPoll, "computed from a stale copy")
	if err := r.patchStatus(ctx, stale, mine); !errors.Is(err, errStatusConflict) {
		t.Fatalf("patch from a stale copy: err = %v, want errStatusConflict", err)
	}
	if got := getHSAgent(t, ns, "locked"); meta.FindStatusCondition(got.Status.Conditions, external) == nil {
		t.Fatalf("the stale patch dropped the concurrent writer's condition: %+v", got.Status.Conditions)
	}

	// The running operator keeps it through its own status writes: a spec
	// change moves observedGeneration and the Available condition.
	paused := getHSAgent(t, ns, "locked")
	paused.Spec.Paused = true
	if err := c.Update(ctx, paused); err != nil {
		t.Fatalf("pause: %v", err)
	}
	eventually(t, 30*time.Second, func() error {
		a := getHSAgent(t, ns, "locked")
		if a.Status.ObservedGeneration != a.Generation {
			return errNotYet
		}
		if meta.FindStatusCondition(a.Status.Conditions, external) == nil {
			t.Fatalf("operator status write dropped the concurrent writer's condition: %+v", a.Status.Conditions)
		}
		return nil
	})
}

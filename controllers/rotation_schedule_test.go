package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestScheduledRotationDue(t *testing.T) {
	created := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	withPolicy := func(d time.Duration) *hsv1.HSAgent {
		a := newHSAgent("ns", "a")
		a.Spec.Identity = &hsv1.IdentitySpec{RotationPolicy: &hsv1.RotationPolicy{Interval: metav1.Duration{Duration: d}}}
		return a
	}
	if _, ok := scheduledRotationDue(newHSAgent("ns", "a"), created); ok {
		t.Fatal("an agent without a policy has a scheduled rotation")
	}
	if _, ok := scheduledRotationDue(withPolicy(0), created); ok {
		t.Fatal("a zero interval schedules rotations")
	}
	if due, ok := scheduledRotationDue(withPolicy(90*24*time.Hour), created); !ok || !due.Equal(created.Add(90*24*time.Hour)) {
		t.Fatalf("due = %v %v, want 90 days after the keys were created", due, ok)
	}
}

// TestScheduledRotationStartsWhenTheKeysAreOld drives the rotation step
// with a rotation policy on the agent (the CRD in this tree may not carry
// the field yet, so the spec is set in memory): keys younger than the
// interval are left alone, older keys start a rotation with overlap,
// which an operator then finishes like a requested one.
func TestScheduledRotationStartsWhenTheKeysAreOld(t *testing.T) {
	ns := newNamespace(t)
	op := startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()
	before := readyAgent(t, ns, "sam", nil)
	op.Stop(t)

	r := offlineReconciler(t)
	agent := getHSAgent(t, ns, "sam")
	agent.Spec.Identity = &hsv1.IdentitySpec{RotationPolicy: &hsv1.RotationPolicy{Interval: metav1.Duration{Duration: time.Hour}}}
	step := func() identityInfo {
		t.Helper()
		sec := getSecret(t, ns, IdentitySecretName(agent))
		info, err := identityFromSecret(sec, agent)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.reconcileRotation(ctx, agent, sec, info)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	sec := getSecret(t, ns, IdentitySecretName(agent))
	if _, ok := sec.Annotations[KeysCreatedAtAnnotation]; !ok {
		t.Fatal("a new identity Secret does not record when its keys were created")
	}
	if info := step(); info.rotation.active() {
		t.Fatal("keys younger than the interval were rotated")
	}

	sec = getSecret(t, ns, IdentitySecretName(agent))
	sec.Annotations[KeysCreatedAtAnnotation] = time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	if err := c.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	info := step()
	if !info.rotation.pending() || !info.rotation.scheduled || info.progress.reason != ReasonRotationPublishing {
		t.Fatalf("old keys: rotation %+v, progress %+v; want a scheduled rotation publishing its key", info.rotation, info.progress)
	}
	if !strings.Contains(info.progress.message, "scheduled rotation") {
		t.Fatalf("message %q does not say the rotation is scheduled", info.progress.message)
	}
	if keys := agentBundle(t, ns).Keys(before.Status.AgentID); len(keys) != 2 {
		t.Fatalf("the scheduled rotation published %d keys, want 2", len(keys))
	}

	// The operator finishes it.
	startOperator(t, ns, testOperatorConfig())
	waitCondition(t, ns, "sam", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRollingOut)
	setStatefulSetPods(t, ns, "sam", 1)
	a := waitCondition(t, ns, "sam", hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete)
	if a.Status.Identity.SignPublicKey == before.Status.Identity.SignPublicKey || a.Status.AgentID != before.Status.AgentID {
		t.Fatal("the scheduled rotation did not replace the key under the same ID")
	}
	created, err := time.Parse(time.RFC3339, getSecret(t, ns, IdentitySecretName(a)).Annotations[KeysCreatedAtAnnotation])
	if err != nil || time.Since(created) > time.Minute {
		t.Fatalf("keys-created-at after the rotation = %v (%v), want the swap time", created, err)
	}
}

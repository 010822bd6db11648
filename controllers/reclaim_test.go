package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// deleteAgentAndWait deletes the HSAgent, plays the StatefulSet controller
// (its pod is gone once scaled to zero) and waits for the finalizer; then it
// plays the garbage collector for the StatefulSet, which envtest lacks.
func deleteAgentAndWait(t *testing.T, ns, name string) {
	t.Helper()
	_, c := testEnv(t)
	ctx := context.Background()
	if err := c.Delete(ctx, getHSAgent(t, ns, name)); err != nil {
		t.Fatalf("delete HSAgent %s: %v", name, err)
	}
	awaitAgentGone(t, ns, name, 30*time.Second)
	err := c.Delete(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete StatefulSet %s: %v", name, err)
	}
}

// awaitAgentGone waits for a deleted HSAgent's finalizer, playing the
// StatefulSet controller: once scaled to zero, its pod is gone.
func awaitAgentGone(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	_, c := testEnv(t)
	ctx := context.Background()
	eventually(t, timeout, func() error {
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &hsv1.HSAgent{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		var sts appsv1.StatefulSet
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &sts); err == nil &&
			sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0 && sts.Status.ObservedGeneration != sts.Generation {
			setStatefulSetPods(t, ns, name, 0)
		}
		return fmt.Errorf("HSAgent %s still present (err %v)", name, err)
	})
}

func TestRetainPolicyKeepsIdentityForRecreatedAgent(t *testing.T) {
	ns, st := operatorWithDatabase(t)
	ctx := context.Background()

	keeper := newHSAgent(ns, "keeper")
	keeper.Spec.StateReclaimPolicy = hsv1.ReclaimRetain
	createHSAgent(t, keeper)
	first := waitCondition(t, ns, "keeper", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	firstKey := openStoredIdentity(t, first).SignPub()
	writeConversation(t, st, first.Status.AgentID, store.Initiator, "peer-a", 3, time.Now().UTC().Truncate(time.Second), true)

	deleteAgentAndWait(t, ns, "keeper")

	// Both Secrets survive the garbage collector: no owner, marked retained.
	for _, name := range []string{IdentitySecretName(first), GeneratedPassphraseSecretName(first)} {
		sec := getSecret(t, ns, name)
		if len(sec.OwnerReferences) != 0 || sec.Labels[hsv1.OrphanedLabel] != "true" {
			t.Fatalf("retained Secret %s: owners %v labels %v", name, sec.OwnerReferences, sec.Labels)
		}
	}
	if sum, err := st.Summary(ctx, first.Status.AgentID, 10); err != nil || sum.Cycles != 3 {
		t.Fatalf("retained rows: cycles %d, err %v", sum.Cycles, err)
	}
	if b := readTrustBundle(t, ns); b[first.Status.AgentID] != "" {
		t.Fatalf("trust bundle still lists the deleted agent")
	}

	// Re-created under the same name, it adopts them: same ID, same keys.
	createHSAgent(t, newHSAgent(ns, "keeper"))
	again := waitCondition(t, ns, "keeper", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	if again.Status.AgentID != first.Status.AgentID {
		t.Fatalf("re-created agent ID %s, want the retained %s", again.Status.AgentID, first.Status.AgentID)
	}
	if got := openStoredIdentity(t, again).SignPub(); string(got) != string(firstKey) {
		t.Fatal("re-created agent's signing key differs from the retained one")
	}
	for _, name := range []string{IdentitySecretName(again), GeneratedPassphraseSecretName(again)} {
		sec := getSecret(t, ns, name)
		if !metav1.IsControlledBy(sec, again) || sec.Labels[hsv1.OrphanedLabel] != "" {
			t.Fatalf("adopted Secret %s: owners %v labels %v", name, sec.OwnerReferences, sec.Labels)
		}
	}
	eventually(t, 10*time.Second, func() error {
		if readTrustBundle(t, ns)[again.Status.AgentID] != again.Status.Identity.SignPublicKey {
			return errNotYet
		}
		return nil
	})
	if err := hasEvent(t, again, EventIdentityAdopted); err != nil {
		t.Error(err)
	}
}

// A retained identity sealed with the generated passphrase cannot serve an
// HSAgent re-created with a user passphrase: refused with a clear reason,
// never replaced and never adopted.
func TestRetainedIdentityRefusedForOtherPassphrase(t *testing.T) {
	ns, _ := operatorWithDatabase(t)
	_, c := testEnv(t)

	a := newHSAgent(ns, "picky")
	a.Spec.StateReclaimPolicy = hsv1.ReclaimRetain
	createHSAgent(t, a)
	first := waitCondition(t, ns, "picky", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	deleteAgentAndWait(t, ns, "picky")

	if err := c.Create(context.Background(), newSecret(ns, "own-pass", map[string]string{"p": "a user passphrase"})); err != nil {
		t.Fatal(err)
	}
	b := newHSAgent(ns, "picky")
	b.Spec.Identity = &hsv1.IdentitySpec{PassphraseSecretRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "own-pass"}, Key: "p"}}
	createHSAgent(t, b)
	got := waitCondition(t, ns, "picky", hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonRetainedIdentityUnusable)
	if msg := got.Status.Conditions; !strings.Contains(fmt.Sprint(msg), "generated") {
		t.Errorf("condition does not say which passphrase sealed it: %v", msg)
	}
	sec := getSecret(t, ns, IdentitySecretName(first))
	if sec.Annotations[AgentIDAnnotation] != first.Status.AgentID || len(sec.OwnerReferences) != 0 {
		t.Fatalf("refused Secret changed: id %s owners %v", sec.Annotations[AgentIDAnnotation], sec.OwnerReferences)
	}
}

func TestReclaimPolicyValidation(t *testing.T) {
	ns := newNamespace(t)
	_, c := testEnv(t)
	a := newHSAgent(ns, "contradiction")
	a.Spec.RetainState = true
	a.Spec.StateReclaimPolicy = hsv1.ReclaimDelete
	err := c.Create(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "contradicts stateReclaimPolicy") {
		t.Fatalf("retainState: true with stateReclaimPolicy: Delete: err = %v, want a validation error", err)
	}
	tests := []struct {
		spec hsv1.HSAgentSpec
		want hsv1.StateReclaimPolicy
	}{
		{hsv1.HSAgentSpec{}, hsv1.ReclaimDelete},
		{hsv1.HSAgentSpec{RetainState: true}, hsv1.ReclaimRetain},
		{hsv1.HSAgentSpec{StateReclaimPolicy: hsv1.ReclaimRetain}, hsv1.ReclaimRetain},
		{hsv1.HSAgentSpec{StateReclaimPolicy: hsv1.ReclaimDelete}, hsv1.ReclaimDelete},
	}
	for _, tt := range tests {
		if got := tt.spec.EffectiveStateReclaimPolicy(); got != tt.want {
			t.Errorf("%+v: policy %s, want %s", tt.spec, got, tt.want)
		}
	}
}

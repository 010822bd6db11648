package controllers

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/trust"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// testRotation is the rotation timing of every operator in this test
// binary: long enough to observe each step, short enough for envtest.
var testRotation = RotationConfig{PropagationDelay: 3 * time.Second, RetireGrace: time.Second}

// agentBundle is what an agent reads from the namespace trust bundle.
func agentBundle(t testing.TB, ns string) *trust.Policy {
	t.Helper()
	_, c := testEnv(t)
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: TrustBundleName}, &cm); err != nil {
		t.Fatalf("get trust bundle: %v", err)
	}
	b, caps, extra, err := trust.ParseBundleKeys([]byte(cm.Data[TrustBundleKey]))
	if err != nil {
		t.Fatalf("an agent cannot read the trust bundle: %v", err)
	}
	p := trust.NewPolicy(trust.Fleet, nil)
	p.SetBundleKeys(b, caps, extra)
	return p
}

func decodeKey(t testing.TB, b64 string) ed25519.PublicKey {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) != ed25519.PublicKeySize {
		t.Fatalf("bad key %q", b64)
	}
	return k
}

func requestRotation(t testing.TB, ns, name, value string) {
	t.Helper()
	_, c := testEnv(t)
	eventually(t, 10*time.Second, func() error {
		a := getHSAgent(t, ns, name)
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[hsv1.RotateIdentityAnnotation] = value
		return c.Update(context.Background(), a)
	})
}

// readyAgent creates an agent and plays its pod ready.
func readyAgent(t testing.TB, ns, name string, edit func(*hsv1.HSAgent)) *hsv1.HSAgent {
	t.Helper()
	a := newHSAgent(ns, name)
	if edit != nil {
		edit(a)
	}
	createHSAgent(t, a)
	waitCondition(t, ns, name, hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
	setStatefulSetPods(t, ns, name, 1)
	return waitCondition(t, ns, name, hsv1.ConditionReady, metav1.ConditionTrue, ReasonReady)
}

// TestRotationPublishesTheNewKeyBeforeThePodRolls walks the steps: both
// keys in the bundle while the pod still runs the old ones, the swap only
// after the propagation delay, the old key kept until the new pod is
// ready plus the grace, and every intermediate bundle readable by agents
// and accepting whichever key the pod runs.
func TestRotationPublishesTheNewKeyBeforeThePodRolls(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	before := readyAgent(t, ns, "rita", nil)
	id, oldKey := before.Status.AgentID, before.Status.Identity.SignPublicKey
	oldHash := getStatefulSet(t, ns, "rita").Spec.Template.Annotations[IdentityHashAnnotation]

	requestRotation(t, ns, "rita", "r1")
	a := waitCondition(t, ns, "rita", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRotationPublishing)
	sec := getSecret(t, ns, IdentitySecretName(a))
	nextKey, published := sec.Annotations[NextSignPublicKeyAnnotation], sec.Annotations[RotationPublishedAtAnnotation]
	if nextKey == "" || nextKey == oldKey || published == "" {
		t.Fatalf("pending rotation not recorded: next %q published %q", nextKey, published)
	}
	if a.Status.Identity.SignPublicKey != oldKey || sec.Annotations[SignPublicKeyAnnotation] != oldKey {
		t.Fatal("the active key changed before the new one was propagated")
	}
	if h := getStatefulSet(t, ns, "rita").Spec.Template.Annotations[IdentityHashAnnotation]; h != oldHash {
		t.Fatal("the pod template changed before the new key was propagated")
	}
	if id := openStoredIdentity(t, a); base64.StdEncoding.EncodeToString(id.SignPub()) != oldKey {
		t.Fatal("the mounted identity holds the new keys before the swap")
	}
	p := agentBundle(t, ns)
	if !p.Accepts(id, decodeKey(t, oldKey)) || !p.Accepts(id, decodeKey(t, nextKey)) || !p.Bundle()[id].Equal(decodeKey(t, oldKey)) {
		t.Fatalf("publishing: bundle keys of %s = %v, want old (primary) and next", id, p.Keys(id))
	}

	// The swap waits for the propagation delay.
	a = waitCondition(t, ns, "rita", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRollingOut)
	publishedAt, err := time.Parse(time.RFC3339, published)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(publishedAt); waited < testRotation.PropagationDelay {
		t.Fatalf("the pod rolled %s after the new key was published, before the %s propagation delay", waited, testRotation.PropagationDelay)
	}
	if a.Status.Identity.SignPublicKey != nextKey || a.Status.Identity.Rotation != "r1" || a.Status.AgentID != id {
		t.Fatalf("after the swap status identity = %+v", a.Status.Identity)
	}
	if h := getStatefulSet(t, ns, "rita").Spec.Template.Annotations[IdentityHashAnnotation]; h == oldHash {
		t.Fatal("the pod template still carries the old identity hash")
	}
	if got := openStoredIdentity(t, a); base64.StdEncoding.EncodeToString(got.SignPub()) != nextKey || got.ID != id {
		t.Fatal("the mounted identity does not hold the new keys after the swap")
	}
	p = agentBundle(t, ns)
	if !p.Bundle()[id].Equal(decodeKey(t, nextKey)) || !p.Accepts(id, decodeKey(t, oldKey)) {
		t.Fatalf("rolling: bundle keys of %s = %v, want next (primary) and old", id, p.Keys(id))
	}
	if err := hasEvent(t, a, EventIdentityRotated); err != nil {
		t.Fatal(err)
	}

	// The new pod is ready: the old key retires after the grace.
	setStatefulSetPods(t, ns, "rita", 1)
	a = waitCondition(t, ns, "rita", hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete)
	p = agentBundle(t, ns)
	if keys := p.Keys(id); len(keys) != 1 || !keys[0].Equal(decodeKey(t, nextKey)) {
		t.Fatalf("complete: bundle keys of %s = %v, want only the new key", id, keys)
	}
	if data := readBundleData(t, ns); strings.Contains(data, `"keys"`) {
		t.Fatalf("the bundle keeps the object form after the rotation: %s", data)
	}
	sec = getSecret(t, ns, IdentitySecretName(a))
	for _, k := range rotationAnnotations {
		if _, ok := sec.Annotations[k]; ok {
			t.Fatalf("annotation %s left on the identity Secret", k)
		}
	}
	if _, ok := sec.Data[NextIdentityFileKey(a)]; ok {
		t.Fatal("pending identity left in the Secret")
	}
	if err := hasEvent(t, a, EventRotationComplete); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "rita", hsv1.ConditionReady, metav1.ConditionTrue, ReasonReady)
}

func readBundleData(t testing.TB, ns string) string {
	t.Helper()
	_, c := testEnv(t)
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: TrustBundleName}, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data[TrustBundleKey]
}

// TestRotationResumesAfterOperatorRestart stops the operator in the
// middle of each waiting step; the next one finishes the rotation with the
// keys the first one generated.
func TestRotationResumesAfterOperatorRestart(t *testing.T) {
	ns := newNamespace(t)
	op := startOperator(t, ns, testOperatorConfig())
	before := readyAgent(t, ns, "rex", nil)
	id := before.Status.AgentID

	requestRotation(t, ns, "rex", "r1")
	a := waitCondition(t, ns, "rex", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRotationPublishing)
	nextKey := getSecret(t, ns, IdentitySecretName(a)).Annotations[NextSignPublicKeyAnnotation]
	op.Stop(t)

	op = startOperator(t, ns, testOperatorConfig())
	a = waitCondition(t, ns, "rex", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRollingOut)
	if a.Status.Identity.SignPublicKey != nextKey {
		t.Fatalf("after a restart the rotation swapped in %s, not the pending key %s", a.Status.Identity.SignPublicKey, nextKey)
	}
	op.Stop(t)

	// A restart after the swap keeps the old key until the new pod is ready.
	startOperator(t, ns, testOperatorConfig())
	time.Sleep(testRotation.RetireGrace + time.Second)
	if p := agentBundle(t, ns); !p.Accepts(id, decodeKey(t, before.Status.Identity.SignPublicKey)) {
		t.Fatal("the old key left the bundle before the new pod was ready")
	}
	setStatefulSetPods(t, ns, "rex", 1)
	a = waitCondition(t, ns, "rex", hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete)
	if keys := agentBundle(t, ns).Keys(id); len(keys) != 1 || !keys[0].Equal(decodeKey(t, nextKey)) {
		t.Fatalf("bundle keys after the resumed rotation = %v", keys)
	}
	if got := openStoredIdentity(t, a); base64.StdEncoding.EncodeToString(got.SignPub()) != nextKey {
		t.Fatal("stored identity is not the pending one")
	}
}

// TestRotationThatCannotStartSetsACondition: the stored identity cannot be
// opened (its passphrase changed), so no key is replaced and the condition,
// not only an event, says why.
func TestRotationThatCannotStartSetsACondition(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	before := readyAgent(t, ns, "rob", nil)

	pass := getSecret(t, ns, GeneratedPassphraseSecretName(before))
	for k := range pass.Data {
		pass.Data[k] = []byte("not the passphrase that sealed the identity")
	}
	if err := c.Update(context.Background(), pass); err != nil {
		t.Fatal(err)
	}
	requestRotation(t, ns, "rob", "r1")
	a := waitCondition(t, ns, "rob", hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationFailed)
	if c := findCondition(a, hsv1.ConditionRotating); !strings.Contains(c.Message, "open stored identity") {
		t.Fatalf("Rotating message %q does not say what failed", c.Message)
	}
	if a.Status.Identity.SignPublicKey != before.Status.Identity.SignPublicKey {
		t.Fatal("a failed rotation changed the key")
	}
	if keys := agentBundle(t, ns).Keys(a.Status.AgentID); len(keys) != 1 {
		t.Fatalf("a failed rotation published %d keys", len(keys))
	}
}

// TestRotationWarnsAboutTOFUPeers: TOFU agents pinned the old key; the
// rotation says so in its condition and an event.
func TestRotationWarnsAboutTOFUPeers(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	readyAgent(t, ns, "tina", func(a *hsv1.HSAgent) { a.Spec.TrustMode = hsv1.TrustTOFU })
	readyAgent(t, ns, "ron", nil)

	requestRotation(t, ns, "ron", "r1")
	var a *hsv1.HSAgent
	eventually(t, 30*time.Second, func() error {
		a = getHSAgent(t, ns, "ron")
		c := findCondition(a, hsv1.ConditionRotating)
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "1 TOFU agent(s)") {
			return fmt.Errorf("Rotating = %+v", c)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error { return hasEvent(t, a, EventRotationTOFUPeers) })
}

func findCondition(a *hsv1.HSAgent, typ string) *metav1.Condition {
	for i := range a.Status.Conditions {
		if a.Status.Conditions[i].Type == typ {
			return &a.Status.Conditions[i]
		}
	}
	return nil
}

// TestBundleRebuiltDuringRotationKeepsBothKeys: a damaged bundle rebuilt
// from the identity Secrets while a rotation publishes its new key still
// lists both keys of the rotating agent.
func TestBundleRebuiltDuringRotationKeepsBothKeys(t *testing.T) {
	ns := newNamespace(t)
	op := startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()
	other := readyAgent(t, ns, "una", nil)
	before := readyAgent(t, ns, "val", nil)
	requestRotation(t, ns, "val", "r1")
	a := waitCondition(t, ns, "val", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRotationPublishing)
	op.Stop(t) // freeze the rotation in its publish step
	nextKey := getSecret(t, ns, IdentitySecretName(a)).Annotations[NextSignPublicKeyAnnotation]

	var cm corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: TrustBundleName}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data[TrustBundleKey] = "{not json"
	if err := c.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	// Another agent's ordinary write repairs the bundle.
	r := offlineReconciler(t)
	if err := r.updateTrustBundle(ctx, ns, func(b trustBundle) bool {
		return b.set(other.Status.AgentID, other.Status.Identity.SignPublicKey)
	}); err != nil {
		t.Fatal(err)
	}
	p := agentBundle(t, ns)
	id := before.Status.AgentID
	if !p.Bundle()[id].Equal(decodeKey(t, before.Status.Identity.SignPublicKey)) || !p.Accepts(id, decodeKey(t, nextKey)) {
		t.Fatalf("rebuilt bundle keys of the rotating agent = %v, want old (primary) and next", p.Keys(id))
	}
	if !p.Accepts(other.Status.AgentID, decodeKey(t, other.Status.Identity.SignPublicKey)) {
		t.Fatal("rebuilt bundle lost the other agent")
	}
}

// offlineReconciler is the reconciler without a manager, on the uncached
// client, for driving one step while no operator runs.
func offlineReconciler(t testing.TB) *HSAgentReconciler {
	_, c := testEnv(t)
	return &HSAgentReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Config: testOperatorConfig().withDefaults(), now: time.Now}
}

package controllers

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestCreateMakesIdentityBundleAndRestrictedStatefulSet(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "alice"))
	a := waitCondition(t, ns, "alice", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)

	// The sealed identity opens with the generated passphrase and matches status.
	id := openStoredIdentity(t, a)
	if id.ID != a.Status.AgentID {
		t.Fatalf("stored identity %s, status agentID %s", id.ID, a.Status.AgentID)
	}
	if got := base64.StdEncoding.EncodeToString(id.SignPub()); got != a.Status.Identity.SignPublicKey {
		t.Errorf("status sign key %s, stored %s", a.Status.Identity.SignPublicKey, got)
	}
	if got := base64.StdEncoding.EncodeToString(id.KxPub()); got != a.Status.Identity.KxPublicKey {
		t.Errorf("status kx key %s, stored %s", a.Status.Identity.KxPublicKey, got)
	}
	for _, name := range []string{IdentitySecretName(a), GeneratedPassphraseSecretName(a)} {
		sec := getSecret(t, ns, name)
		if sec.Labels[ManagedByLabel] != ManagedByValue || !metav1.IsControlledBy(sec, a) {
			t.Errorf("Secret %s: labels %v, owners %v: want the operator label and the HSAgent as controller", name, sec.Labels, sec.OwnerReferences)
		}
	}
	if !controllerutil.ContainsFinalizer(a, hsv1.Finalizer) {
		t.Errorf("finalizer missing: %v", a.Finalizers)
	}

	// The namespace bundle maps the agent ID to its signing key.
	if got := readTrustBundle(t, ns)[a.Status.AgentID]; got != a.Status.Identity.SignPublicKey {
		t.Errorf("bundle entry = %q, want %q", got, a.Status.Identity.SignPublicKey)
	}

	// The StatefulSet as the API server stores it, defaults and all.
	var sts appsv1.StatefulSet
	eventually(t, 10*time.Second, func() error {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice"}, &sts)
	})
	pod := sts.Spec.Template.Spec
	if *sts.Spec.Replicas != 1 || len(pod.Containers) != 1 {
		t.Fatalf("replicas %d, containers %d: want 1 and 1", *sts.Spec.Replicas, len(pod.Containers))
	}
	if !reflect.DeepEqual(pod.SecurityContext, wantPodSecurity) {
		t.Errorf("pod security context = %+v\nwant %+v", pod.SecurityContext, wantPodSecurity)
	}
	if !reflect.DeepEqual(pod.Containers[0].SecurityContext, wantContainerSecurity) {
		t.Errorf("container security context = %+v\nwant %+v", pod.Containers[0].SecurityContext, wantContainerSecurity)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false")
	}
	if pod.Containers[0].Image != "hsfleet:test" || !metav1.IsControlledBy(&sts, a) {
		t.Errorf("image %q, owners %v", pod.Containers[0].Image, sts.OwnerReferences)
	}
	if a.Status.ObservedGeneration != a.Generation {
		t.Errorf("status.observedGeneration %d, generation %d", a.Status.ObservedGeneration, a.Generation)
	}
	// No StatefulSet controller has observed it yet (envtest runs none).
	if err := conditionIs(a, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonRollingOut); err != nil {
		t.Error(err)
	}
	if err := conditionIs(a, hsv1.ConditionReady, metav1.ConditionFalse, ReasonRollingOut); err != nil {
		t.Error(err)
	}
	eventually(t, 10*time.Second, func() error { return hasEvent(t, a, EventIdentityCreated) })

	// A ready pod still on the old revision is not Available: the rollout runs.
	patch := client.MergeFrom(sts.DeepCopy())
	sts.Status.ObservedGeneration = sts.Generation
	sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 1, 1, 1
	sts.Status.CurrentRevision, sts.Status.UpdateRevision = "alice-old", "alice-new"
	if err := c.Status().Patch(ctx, &sts, patch); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "alice", hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonRollingOut)

	// The updated pod ready: Available, and Ready summarises it.
	patch = client.MergeFrom(sts.DeepCopy())
	sts.Status.UpdatedReplicas, sts.Status.CurrentRevision = 1, "alice-new"
	if err := c.Status().Patch(ctx, &sts, patch); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "alice", hsv1.ConditionAvailable, metav1.ConditionTrue, ReasonPodReady)
	waitCondition(t, ns, "alice", hsv1.ConditionReady, metav1.ConditionTrue, ReasonReady)
}

func TestIdentityIsNeverRegenerated(t *testing.T) {
	ns := newNamespace(t)
	op := startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "bob"))
	a := waitCondition(t, ns, "bob", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
	original := getSecret(t, ns, IdentitySecretName(a))
	originalPass := getSecret(t, ns, GeneratedPassphraseSecretName(a))

	unchanged := func(step string) {
		t.Helper()
		now := getSecret(t, ns, IdentitySecretName(a))
		pass := getSecret(t, ns, GeneratedPassphraseSecretName(a))
		if now.ResourceVersion != original.ResourceVersion || !bytes.Equal(now.Data[IdentityFileKey(a)], original.Data[IdentityFileKey(a)]) {
			t.Fatalf("%s: identity Secret was rewritten", step)
		}
		if !bytes.Equal(pass.Data[PassphraseKey], originalPass.Data[PassphraseKey]) {
			t.Fatalf("%s: passphrase was rewritten", step)
		}
		if got := getHSAgent(t, ns, "bob").Status.AgentID; got != a.Status.AgentID {
			t.Fatalf("%s: agentID changed from %s to %s", step, a.Status.AgentID, got)
		}
	}

	// bumpSpec forces a full reconcile and waits until it has been observed.
	bumpSpec := func(limit int32) {
		t.Helper()
		// The operator's status writes bump resourceVersion too: retry
		// the read-modify-write on a conflict.
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := getHSAgent(t, ns, "bob")
			cur.Spec.ExchangeLimit = limit
			return c.Update(ctx, cur)
		}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			got := getHSAgent(t, ns, "bob")
			if got.Status.ObservedGeneration != got.Generation {
				return fmt.Errorf("observedGeneration %d < generation %d", got.Status.ObservedGeneration, got.Generation)
			}
			return nil
		})
	}

	bumpSpec(7)
	unchanged("re-reconcile")

	op.Stop(t)
	startOperator(t, ns, testOperatorConfig())
	bumpSpec(8)
	unchanged("operator restart")
}

func TestRotationKeepsIDReplacesKeysAndRollsPod(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "carol"))
	before := waitCondition(t, ns, "carol", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
	var sts appsv1.StatefulSet
	eventually(t, 10*time.Second, func() error {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "carol"}, &sts)
	})
	oldHash := sts.Spec.Template.Annotations[IdentityHashAnnotation]

	cur := getHSAgent(t, ns, "carol")
	cur.Annotations = map[string]string{hsv1.RotateIdentityAnnotation: "2026-11-26"}
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	var after *hsv1.HSAgent
	eventually(t, 30*time.Second, func() error {
		after = getHSAgent(t, ns, "carol")
		if after.Status.Identity == nil || after.Status.Identity.Rotation != "2026-11-26" {
			return fmt.Errorf("rotation not reported yet: %+v", after.Status.Identity)
		}
		return nil
	})
	if after.Status.AgentID != before.Status.AgentID {
		t.Fatalf("rotation changed the agent ID: %s -> %s", before.Status.AgentID, after.Status.AgentID)
	}
	if after.Status.Identity.SignPublicKey == before.Status.Identity.SignPublicKey ||
		after.Status.Identity.KxPublicKey == before.Status.Identity.KxPublicKey {
		t.Fatal("rotation kept a key")
	}
	id := openStoredIdentity(t, after)
	if id.ID != before.Status.AgentID || base64.StdEncoding.EncodeToString(id.SignPub()) != after.Status.Identity.SignPublicKey {
		t.Fatalf("stored identity %s does not hold the rotated keys", id.ID)
	}
	eventually(t, 10*time.Second, func() error {
		if got := readTrustBundle(t, ns)[after.Status.AgentID]; got != after.Status.Identity.SignPublicKey {
			return fmt.Errorf("bundle still has %s", got)
		}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "carol"}, &sts); err != nil {
			return err
		}
		if h := sts.Spec.Template.Annotations[IdentityHashAnnotation]; h == oldHash || h == "" {
			return fmt.Errorf("pod template identity hash still %q", h)
		}
		return hasEvent(t, after, EventIdentityRotated)
	})
	// Rotating until the pod with the new keys is available.
	waitCondition(t, ns, "carol", hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRollingOut)
	setStatefulSetPods(t, ns, "carol", 1)
	waitCondition(t, ns, "carol", hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete)
	waitCondition(t, ns, "carol", hsv1.ConditionReady, metav1.ConditionTrue, ReasonReady)

	// The same annotation value never rotates twice.
	rotated := getSecret(t, ns, IdentitySecretName(after))
	cur = getHSAgent(t, ns, "carol")
	cur.Spec.ExchangeLimit = 9
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		got := getHSAgent(t, ns, "carol")
		if got.Status.ObservedGeneration != got.Generation {
			return errNotYet
		}
		return nil
	})
	if now := getSecret(t, ns, IdentitySecretName(after)); now.ResourceVersion != rotated.ResourceVersion {
		t.Fatal("identity rotated again for an unchanged annotation")
	}
}

func TestInvalidSpecIsRejectedWithAClearMessage(t *testing.T) {
	ns := newNamespace(t)
	_, c := testEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		edit    func(*hsv1.HSAgent)
		message string
	}{
		{"relay without port", func(a *hsv1.HSAgent) { a.Spec.Relay = "relay.example" }, "relay must be HOST:PORT"},
		{"relay port out of range", func(a *hsv1.HSAgent) { a.Spec.Relay = "relay:70000" }, "relay must be HOST:PORT"},
		{"relay with scheme", func(a *hsv1.HSAgent) { a.Spec.Relay = "tcp://relay:8888" }, "relay must be HOST:PORT"},
		{"unbracketed IPv6 relay", func(a *hsv1.HSAgent) { a.Spec.Relay = "::1:8888" }, "relay must be HOST:PORT"},
		{"negative exchange limit", func(a *hsv1.HSAgent) { a.Spec.ExchangeLimit = -1 }, "exchangeLimit must be between 1 and 100"},
		{"exchange limit too high", func(a *hsv1.HSAgent) { a.Spec.ExchangeLimit = 101 }, "exchangeLimit must be between 1 and 100"},
		{"unknown trust mode", func(a *hsv1.HSAgent) { a.Spec.TrustMode = "Anyone" }, `supported values: "Fleet", "TOFU", "Open"`},
		{"name too long for a StatefulSet", func(a *hsv1.HSAgent) { a.Name = "a" + string(bytes.Repeat([]byte("b"), 52)) }, "HSAgent name must be a DNS label of at most 52 characters"},
		{"dotted name", func(a *hsv1.HSAgent) { a.Name = "a.b" }, "HSAgent name must be a DNS label"},
		{"cycle interval of a day and more", func(a *hsv1.HSAgent) { a.Spec.CycleInterval = &metav1.Duration{Duration: 25 * time.Hour} },
			"cycleInterval must be between 0s and 24h"},
		{"negative cycle interval", func(a *hsv1.HSAgent) { a.Spec.CycleInterval = &metav1.Duration{Duration: -time.Second} },
			"cycleInterval must be between 0s and 24h"},
		{"register interval too short", func(a *hsv1.HSAgent) { a.Spec.RegisterInterval = &metav1.Duration{Duration: time.Millisecond} },
			"registerInterval must be between 100ms and 1h"},
		{"database pool of zero", func(a *hsv1.HSAgent) { a.Spec.DatabaseMaxConns = ptr.To[int32](0) }, "databaseMaxConns"},
		{"max active cycles too high", func(a *hsv1.HSAgent) { a.Spec.MaxActiveCycles = ptr.To[int32](5000) }, "maxActiveCycles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newHSAgent(ns, "bad")
			tt.edit(a)
			err := c.Create(ctx, a)
			if err == nil {
				t.Fatalf("accepted %+v", a.Spec)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.message)) {
				t.Fatalf("error %q does not contain %q", err, tt.message)
			}
		})
	}

	knobs := newHSAgent(ns, "knobs")
	knobs.Spec.CycleInterval = &metav1.Duration{}
	knobs.Spec.RegisterInterval = &metav1.Duration{Duration: 500 * time.Millisecond}
	knobs.Spec.DatabaseMaxConns, knobs.Spec.MaxActiveCycles = ptr.To[int32](1), ptr.To[int32](64)
	if err := c.Create(ctx, knobs); err != nil {
		t.Errorf("valid agent knobs rejected: %v", err)
	}

	valid := []string{"relay:8888", "10.0.0.1:1", "[::1]:8888", "relay.hsfleet.svc.cluster.local:65535"}
	for i, relay := range valid {
		a := newHSAgent(ns, fmt.Sprintf("ok-%d", i))
		a.Spec.Relay = relay
		if err := c.Create(ctx, a); err != nil {
			t.Errorf("valid relay %q rejected: %v", relay, err)
		}
	}

	// The passphrase Secret is fixed at creation; the rotation policy is not.
	a := newHSAgent(ns, "fixed")
	a.Spec.Identity = &hsv1.IdentitySpec{PassphraseSecretRef: &corev1.SecretKeySelector{Key: "k"}}
	a.Spec.Identity.PassphraseSecretRef.Name = "mine"
	if err := c.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Spec.Identity = nil
	if err := c.Update(ctx, a); err == nil || !bytes.Contains([]byte(err.Error()), []byte("passphraseSecretRef cannot be added or removed")) {
		t.Fatalf("removing spec.identity: err = %v", err)
	}
	a = getHSAgent(t, ns, "fixed")
	a.Spec.Identity.PassphraseSecretRef.Name = "other"
	if err := c.Update(ctx, a); err == nil || !bytes.Contains([]byte(err.Error()), []byte("passphraseSecretRef is immutable")) {
		t.Fatalf("changing spec.identity.passphraseSecretRef: err = %v", err)
	}
	a = getHSAgent(t, ns, "fixed")
	a.Spec.Identity.RotationPolicy = &hsv1.RotationPolicy{Interval: metav1.Duration{Duration: 24 * time.Hour}}
	if err := c.Update(ctx, a); err != nil {
		t.Fatalf("adding a rotation policy rejected: %v", err)
	}
	b := newHSAgent(ns, "generated")
	if err := c.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Spec.Identity = &hsv1.IdentitySpec{RotationPolicy: &hsv1.RotationPolicy{Interval: metav1.Duration{Duration: 24 * time.Hour}}}
	if err := c.Update(ctx, b); err != nil {
		t.Fatalf("adding spec.identity with only a rotation policy rejected: %v", err)
	}
	b = getHSAgent(t, ns, "generated")
	b.Spec.Identity.PassphraseSecretRef = &corev1.SecretKeySelector{Key: "k"}
	b.Spec.Identity.PassphraseSecretRef.Name = "late"
	if err := c.Update(ctx, b); err == nil || !bytes.Contains([]byte(err.Error()), []byte("passphraseSecretRef")) {
		t.Fatalf("adding a passphrase Secret after creation: err = %v", err)
	}
}

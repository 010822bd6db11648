package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestUserPassphraseSecretSealsTheIdentity(t *testing.T) {
	tests := []struct {
		name       string
		passphrase string
	}{
		{name: "from-literal value", passphrase: "correct horse battery staple"},
		// kubectl create secret --from-file keeps the file's newline; the
		// agent strips it when reading the mount, so sealing must too.
		{name: "from-file value with trailing newline", passphrase: "correct horse battery staple\n"},
		{name: "CRLF-terminated value", passphrase: "correct horse battery staple\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNamespace(t)
			startOperator(t, ns, testOperatorConfig())
			_, c := testEnv(t)
			ctx := context.Background()

			a := newHSAgent(ns, "grace")
			a.Spec.Identity = &hsv1.IdentitySpec{PassphraseSecretRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "grace-pw"}, Key: "pw"}}
			createHSAgent(t, a)

			// Until the Secret exists the identity cannot be sealed, and says why.
			waitCondition(t, ns, "grace", hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonPassphraseUnavailable)
			if err := c.Create(ctx, newSecret(ns, "grace-pw", map[string]string{"pw": tt.passphrase})); err != nil {
				t.Fatal(err)
			}
			a = waitCondition(t, ns, "grace", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
			if id := openStoredIdentity(t, a); id.ID != a.Status.AgentID {
				t.Fatalf("identity sealed with the user passphrase has ID %s, status %s", id.ID, a.Status.AgentID)
			}
			err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: GeneratedPassphraseSecretName(a)}, &corev1.Secret{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("a generated passphrase Secret exists next to the user's (err %v)", err)
			}
		})
	}
}

func TestTamperedIdentitySecretIsReportedNotReplaced(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "heidi"))
	a := waitCondition(t, ns, "heidi", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
	sec := getSecret(t, ns, IdentitySecretName(a))
	sealed := sec.Data[IdentityFileKey(a)]
	sec.Annotations[SignPublicKeyAnnotation] = "not-a-key"
	if err := c.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "heidi", hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonIdentitySecretInvalid)
	if got := getSecret(t, ns, IdentitySecretName(a)).Data[IdentityFileKey(a)]; string(got) != string(sealed) {
		t.Fatal("the operator rewrote a Secret it could not read")
	}
}

func TestPausedAgentRunsNoPod(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)

	a := newHSAgent(ns, "ivan")
	a.Spec.Paused = true
	createHSAgent(t, a)
	waitCondition(t, ns, "ivan", hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonPaused)
	var sts appsv1.StatefulSet
	eventually(t, 10*time.Second, func() error {
		return c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "ivan"}, &sts)
	})
	if *sts.Spec.Replicas != 0 {
		t.Fatalf("paused agent has %d replicas", *sts.Spec.Replicas)
	}
}

func TestDeletedIdentitySecretIsNotSilentlyReplaced(t *testing.T) {
	ns := newNamespace(t)
	startOperator(t, ns, testOperatorConfig())
	_, c := testEnv(t)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "judy"))
	a := waitCondition(t, ns, "judy", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
	if err := c.Delete(ctx, getSecret(t, ns, IdentitySecretName(a))); err != nil {
		t.Fatal(err)
	}
	got := waitCondition(t, ns, "judy", hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonIdentitySecretLost)
	if got.Status.AgentID != a.Status.AgentID {
		t.Fatalf("agentID changed from %s to %s", a.Status.AgentID, got.Status.AgentID)
	}
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: IdentitySecretName(a)}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("a replacement identity Secret was created (err %v)", err)
	}
}

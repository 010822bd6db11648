package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// A CNPG application Secret carries the DSN under "uri": selecting that key
// works for status and the agent pod; a reference without a key still
// means "dsn" (defaulted by the API server), so it reports the Secret as
// invalid here rather than reading another key.
func TestDatabaseSecretKeySelector(t *testing.T) {
	ns := newNamespace(t)
	dsn := testDSN(t)
	_, c := testEnv(t)
	ctx := context.Background()
	cnpg := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-app", Namespace: ns},
		StringData: map[string]string{"uri": dsn, "username": "app", "password": "unused-by-hsfleet"},
	}
	if err := c.Create(ctx, cnpg); err != nil {
		t.Fatal(err)
	}
	startOperator(t, ns, testOperatorConfig())
	st := openTestStore(t, dsn)

	withKey := newHSAgent(ns, "cnpg")
	withKey.Spec.Database = &hsv1.DatabaseSpec{SecretRef: hsv1.DatabaseSecretRef{Name: "cluster-app", Key: "uri"}}
	createHSAgent(t, withKey)
	noKey := newHSAgent(ns, "legacy")
	noKey.Spec.Database = &hsv1.DatabaseSpec{SecretRef: hsv1.DatabaseSecretRef{Name: "cluster-app"}}
	createHSAgent(t, noKey)

	a := waitCondition(t, ns, "cnpg", hsv1.ConditionHandshaking, metav1.ConditionFalse, ReasonNoRecentCycles)
	writeConversation(t, st, a.Status.AgentID, store.Initiator, "peer-1", 1, time.Now().UTC(), false)
	eventually(t, 20*time.Second, func() error {
		if a = getHSAgent(t, ns, "cnpg"); a.Status.PeerCount != 1 {
			return fmt.Errorf("peerCount %d, want 1", a.Status.PeerCount)
		}
		return nil
	})
	env := getStatefulSet(t, ns, "cnpg").Spec.Template.Spec.Containers[0].Env
	var ref *corev1.SecretKeySelector
	for _, e := range env {
		if e.Name == "HSFLEET_DB" && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || ref.Name != "cluster-app" || ref.Key != "uri" {
		t.Fatalf("agent pod DSN from %+v, want cluster-app/uri", ref)
	}

	// A new DSN in the Secret (a rotated password) rolls the agent pod:
	// the status hub sees the content change at its next read.
	before := getStatefulSet(t, ns, "cnpg").Spec.Template.Annotations[DatabaseHashAnnotation]
	if before == "" {
		t.Fatal("pod template has no database Secret hash")
	}
	cnpg.StringData = map[string]string{"uri": dsn + "&application_name=rotated"}
	if err := c.Update(ctx, cnpg); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if h := getStatefulSet(t, ns, "cnpg").Spec.Template.Annotations[DatabaseHashAnnotation]; h == before {
			return fmt.Errorf("pod template hash still %s", h)
		}
		return nil
	})

	l := waitCondition(t, ns, "legacy", hsv1.ConditionHandshaking, metav1.ConditionUnknown, ReasonDatabaseSecretInvalid)
	if l.Spec.Database.SecretRef.Key != DatabaseDSNKey {
		t.Errorf("key defaulted to %q, want %q", l.Spec.Database.SecretRef.Key, DatabaseDSNKey)
	}
}

package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func newHSAgent(ns, name string) *hsv1.HSAgent {
	return &hsv1.HSAgent{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
}

func createHSAgent(t testing.TB, a *hsv1.HSAgent) {
	t.Helper()
	_, c := testEnv(t)
	if err := c.Create(context.Background(), a); err != nil {
		t.Fatalf("create HSAgent %s: %v", a.Name, err)
	}
}

func getHSAgent(t testing.TB, ns, name string) *hsv1.HSAgent {
	t.Helper()
	_, c := testEnv(t)
	a := &hsv1.HSAgent{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, a); err != nil {
		t.Fatalf("get HSAgent %s: %v", name, err)
	}
	return a
}

// conditionIs reports an error unless the condition has the status (and,
// when given, the reason) at the agent's current generation.
func conditionIs(a *hsv1.HSAgent, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(a.Status.Conditions, typ)
	switch {
	case c == nil:
		return fmt.Errorf("%s: condition %s not set", a.Name, typ)
	case c.Status != status || (reason != "" && c.Reason != reason):
		return fmt.Errorf("%s: %s=%s/%s (%s), want %s/%s", a.Name, typ, c.Status, c.Reason, c.Message, status, reason)
	case c.ObservedGeneration != a.Generation:
		return fmt.Errorf("%s: %s observedGeneration %d, generation %d", a.Name, typ, c.ObservedGeneration, a.Generation)
	}
	return nil
}

func waitCondition(t testing.TB, ns, name, typ string, status metav1.ConditionStatus, reason string) *hsv1.HSAgent {
	t.Helper()
	var a *hsv1.HSAgent
	eventually(t, 30*time.Second, func() error {
		a = getHSAgent(t, ns, name)
		return conditionIs(a, typ, status, reason)
	})
	return a
}

func getSecret(t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	_, c := testEnv(t)
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		t.Fatalf("get Secret %s: %v", name, err)
	}
	return s
}

// openStoredIdentity decrypts the identity Secret with the passphrase Secret,
// as the agent pod will: the Secret key is written out as the mounted file
// and read back with crypto.ReadPassphraseFile.
func openStoredIdentity(t testing.TB, a *hsv1.HSAgent) *crypto.Identity {
	t.Helper()
	sealed := getSecret(t, a.Namespace, IdentitySecretName(a)).Data[IdentityFileKey(a)]
	name, key, _ := passphraseRef(a)
	passFile := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(passFile, getSecret(t, a.Namespace, name).Data[key], 0o600); err != nil {
		t.Fatal(err)
	}
	pass, err := crypto.ReadPassphraseFile(passFile)
	if err != nil {
		t.Fatalf("read mounted passphrase of %s: %v", a.Name, err)
	}
	id, err := crypto.OpenIdentity(sealed, pass)
	if err != nil {
		t.Fatalf("open stored identity of %s: %v", a.Name, err)
	}
	return id
}

func readTrustBundle(t testing.TB, ns string) trustBundle {
	t.Helper()
	_, c := testEnv(t)
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: TrustBundleName}, cm); err != nil {
		t.Fatalf("get trust bundle: %v", err)
	}
	b, dropped, err := parseTrustBundle(cm.Data[TrustBundleKey])
	if err != nil || dropped != 0 {
		t.Fatalf("trust bundle unreadable (dropped %d): %v", dropped, err)
	}
	return b
}

// hasEvent reports whether an events.k8s.io event with reason regards the agent.
func hasEvent(t testing.TB, a *hsv1.HSAgent, reason string) error {
	_, c := testEnv(t)
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(a.Namespace)); err != nil {
		return err
	}
	for _, e := range list.Items {
		if e.Reason == reason && e.Regarding.Name == a.Name && e.Regarding.Kind == "HSAgent" {
			return nil
		}
	}
	return fmt.Errorf("no %s event for %s among %d events", reason, a.Name, len(list.Items))
}

func newSecret(ns, name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
}

// operatorWithDatabase is the common test setup: a namespace, a fresh
// PostgreSQL database behind the default database Secret, an operator
// watching the namespace, and a store on that database.
func operatorWithDatabase(t *testing.T) (ns string, st *store.Store) {
	t.Helper()
	ns = newNamespace(t)
	dsn := testDSN(t)
	createDatabaseSecret(t, ns, "hsfleet-db", dsn)
	startOperator(t, ns, testOperatorConfig())
	return ns, openTestStore(t, dsn)
}

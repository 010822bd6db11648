package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// TestBrokenTrustBundleIsRebuiltFromEveryAgent: one agent's write over a
// corrupt bundle must restore every agent's entry, not just its own, or
// fleet-mode peers are locked out until each of them reconciles.
func TestBrokenTrustBundleIsRebuiltFromEveryAgent(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(b trustBundle, victim string) string // the bundle content to store
	}{
		{"unparsable bundle", func(trustBundle, string) string { return "{not json" }},
		{"another agent's entry malformed", func(b trustBundle, victim string) string {
			data := fmt.Sprintf(`{%q:"not-a-key"`, victim)
			for id, key := range b {
				if id != victim {
					data += fmt.Sprintf(`,%q:%q`, id, key)
				}
			}
			return data + "}"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNamespace(t)
			op := startOperator(t, ns, testOperatorConfig())
			_, c := testEnv(t)
			ctx := context.Background()
			names := []string{"ann", "bob", "cyd"}
			agents := map[string]*hsv1.HSAgent{}
			for _, n := range names {
				createHSAgent(t, newHSAgent(ns, n))
			}
			for _, n := range names {
				agents[n] = waitCondition(t, ns, n, hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")
			}
			eventually(t, 10*time.Second, func() error {
				if b := readTrustBundle(t, ns); len(b) != len(names) {
					return fmt.Errorf("bundle has %d entries, want %d", len(b), len(names))
				}
				return nil
			})
			// No operator reconciles behind the test's back from here on.
			op.Stop(t)

			var cm corev1.ConfigMap
			if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: TrustBundleName}, &cm); err != nil {
				t.Fatal(err)
			}
			cm.Data[TrustBundleKey] = tt.corrupt(readTrustBundle(t, ns), agents["bob"].Status.AgentID)
			if err := c.Update(ctx, &cm); err != nil {
				t.Fatal(err)
			}

			// One agent (ann) writes its own entry, as its reconcile does.
			r := &HSAgentReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Config: testOperatorConfig().withDefaults(), now: time.Now}
			ann := agents["ann"]
			if err := r.updateTrustBundle(ctx, ns, func(b trustBundle) bool {
				return b.set(ann.Status.AgentID, ann.Status.Identity.SignPublicKey)
			}); err != nil {
				t.Fatal(err)
			}

			b := readTrustBundle(t, ns)
			if len(b) != len(names) {
				t.Errorf("rebuilt bundle has %d entries, want %d: %v", len(b), len(names), b)
			}
			for _, n := range names {
				a := agents[n]
				if got := b[a.Status.AgentID]; got != a.Status.Identity.SignPublicKey {
					t.Errorf("entry of %s = %q, want %q", n, got, a.Status.Identity.SignPublicKey)
				}
			}
		})
	}
}

// Package meshtest starts a real API server with HSAgents in it, for the
// mesh tests of the operator side and of the CLI.
package meshtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
)

// StartAPIServer starts a real kube-apiserver + etcd (envtest) with the
// HSAgent CRD, stopped at the end of the test; root is the repository root.
// It returns a client and a kubeconfig.
func StartAPIServer(t *testing.T, root string) (client.Client, []byte) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		out, err := exec.Command(filepath.Join(root, "hack", "envtest-assets.sh")).Output()
		if err != nil {
			t.Fatalf("hack/envtest-assets.sh: %v", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, env.KubeConfig
}

// Seed creates namespace "fleet" with three HSAgents whose status says:
// alice -> bob cycled 5 s before now, bob -> alice 10 minutes before now;
// carol is not Available and has no cycles.
func Seed(t *testing.T, c client.Client, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fleet"}}); err != nil {
		t.Fatal(err)
	}
	fresh, old := metav1.NewTime(now.Add(-5*time.Second)), metav1.NewTime(now.Add(-10*time.Minute))
	avail := func(s metav1.ConditionStatus) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionAvailable, Status: s, Reason: "Test", LastTransitionTime: metav1.NewTime(now)}}
	}
	status := map[string]v1alpha1.HSAgentStatus{
		"alice": {AgentID: "id-a", Conditions: avail(metav1.ConditionTrue), PeerCount: 1, Cycles: 30, Peers: []v1alpha1.PeerStatus{
			{AgentID: "id-b", Role: "initiator", State: "ready", Cycles: 20, LastCycleTime: &fresh, Secure: true},
			{AgentID: "id-b", Role: "responder", State: "ready", Cycles: 10, LastCycleTime: &old, Secure: true}}},
		"bob": {AgentID: "id-b", Conditions: avail(metav1.ConditionTrue), PeerCount: 1, Cycles: 30, Peers: []v1alpha1.PeerStatus{
			{AgentID: "id-a", Role: "responder", State: "ready", Cycles: 20, LastCycleTime: &fresh, Secure: true},
			{AgentID: "id-a", Role: "initiator", State: "ready", Cycles: 10, LastCycleTime: &old, Secure: true}}},
		"carol": {AgentID: "id-c", Conditions: avail(metav1.ConditionFalse)},
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		a := &v1alpha1.HSAgent{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fleet"}}
		if err := c.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
		a.Status = status[name]
		if err := c.Status().Update(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

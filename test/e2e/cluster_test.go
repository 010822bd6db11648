//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var hsagentGVR = schema.GroupVersionResource{Group: "hsfleet.io", Version: "v1alpha1", Resource: "hsagents"}

// cluster bundles the clients the suite uses.
type cluster struct {
	cfg  *rest.Config
	core kubernetes.Interface
	dyn  dynamic.Interface
	ns   string
}

func connect(t *testing.T, ns string) *cluster {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{cfg: cfg, core: core, dyn: dyn, ns: ns}
}

func (c *cluster) hsagents() dynamic.ResourceInterface {
	return c.dyn.Resource(hsagentGVR).Namespace(c.ns)
}

// agentView is the part of HSAgent.status the suite reads.
type agentView struct {
	Name       string
	AgentID    string
	SignPub    string
	Available  bool
	PeerCount  int64
	Cycles     int64
	PeerCycles map[string]int64  // peer agent ID -> cycles over both roles
	Conditions map[string]string // type -> "Status/Reason"
}

func (c *cluster) agent(ctx context.Context, name string) (agentView, error) {
	u, err := c.hsagents().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return agentView{}, err
	}
	return viewOf(u), nil
}

func viewOf(u *unstructured.Unstructured) agentView {
	v := agentView{Name: u.GetName(), PeerCycles: map[string]int64{}, Conditions: map[string]string{}}
	v.AgentID, _, _ = unstructured.NestedString(u.Object, "status", "agentID")
	v.SignPub, _, _ = unstructured.NestedString(u.Object, "status", "identity", "signPublicKey")
	v.PeerCount, _, _ = unstructured.NestedInt64(u.Object, "status", "peerCount")
	v.Cycles, _, _ = unstructured.NestedInt64(u.Object, "status", "cycles")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		v.Conditions[typ] = fmt.Sprintf("%v/%v", m["status"], m["reason"])
		if typ == "Available" && m["status"] == "True" {
			v.Available = true
		}
	}
	peers, _, _ := unstructured.NestedSlice(u.Object, "status", "peers")
	for _, p := range peers {
		m, _ := p.(map[string]any)
		id, _ := m["agentID"].(string)
		n, _, _ := unstructured.NestedInt64(m, "cycles")
		v.PeerCycles[id] += n
	}
	return v
}

func (v agentView) String() string {
	return fmt.Sprintf("%s{id=%s available=%v peers=%d cycles=%d perPeer=%v}", v.Name, v.AgentID, v.Available, v.PeerCount, v.Cycles, v.PeerCycles)
}

// eventually polls cond every 2 s until it returns nil or the timeout
// passes; the last error explains the failure.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	start := time.Now()
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("%s: not reached within %s: %v", what, timeout, err)
	}
	t.Logf("%s: after %s", what, time.Since(start).Round(time.Second))
}

// poll is eventually for checks that are only logged: it returns cond's
// last error when the timeout passes.
func poll(timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 20*time.Second)
		last := cond(callCtx)
		callCancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(2 * time.Second):
		}
	}
}

func isNotFound(err error) bool { return err != nil && apierrors.IsNotFound(err) }

package kubetrust

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
)

type agentKey struct {
	id   string
	priv ed25519.PrivateKey
}

func newAgent(t *testing.T, id string) agentKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return agentKey{id, priv}
}

func bundleData(t *testing.T, agents ...agentKey) string {
	b := trust.Bundle{}
	for _, a := range agents {
		b[a.id] = a.priv.Public().(ed25519.PublicKey)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// authenticates dials the relay over TCP as a and reports whether the
// relay accepted its proof.
func authenticates(t *testing.T, addr string, a agentKey) bool {
	t.Helper()
	res := make(chan relay.AuthOutcome, 1)
	c := relay.NewClient(relay.ClientConfig{Addr: addr, Auth: &relay.ClientAuth{ID: a.id, Key: a.priv},
		OnAuth: func(o relay.AuthOutcome) {
			select {
			case res <- o:
			default:
			}
		}, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case o := <-res:
		return o.Authenticated
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake outcome")
		return false
	}
}

// eventually retries cond (the watch is asynchronous).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out: %s", what)
}

// A real kube-apiserver and etcd, two namespaces' trust ConfigMaps and a
// real TCP relay fed by Source.
func TestRelayAuthenticatesAgentsOfEveryNamespace(t *testing.T) {
	out, err := exec.Command(filepath.Join("..", "..", "hack", "envtest-assets.sh")).Output()
	if err != nil {
		t.Fatalf("hack/envtest-assets.sh: %v", err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: strings.TrimSpace(string(out))}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	alice, bob, mallory, carol := newAgent(t, "alice"), newAgent(t, "bob"), newAgent(t, "mallory"), newAgent(t, "carol")
	mkCM := func(ns, data string) {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: ns,
			Labels: map[string]string{ManagedByLabel: ManagedByValue}}, Data: map[string]string{BundleKey: data}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkCM("team-a", bundleData(t, alice))
	mkCM("team-b", bundleData(t, bob))
	// An unlabelled look-alike is ignored.
	if _, err := cs.CoreV1().ConfigMaps("team-b").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "team-b",
		Labels: map[string]string{ManagedByLabel: ManagedByValue}}, Data: map[string]string{BundleKey: bundleData(t, carol)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	src, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0", TrustSource: src, DirectedRouting: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx) }()
	defer func() { cancel(); <-served }()
	eventually(t, "source synced", src.Synced)
	addr := srv.Addr().String()

	if !authenticates(t, addr, alice) || !authenticates(t, addr, bob) {
		t.Fatal("an agent of one of the namespaces did not authenticate")
	}
	if authenticates(t, addr, carol) {
		t.Fatal("a ConfigMap not named hsfleet-trust was trusted")
	}

	// team-b claims alice's ID with mallory's key: alice is accepted from neither.
	evil := agentKey{"alice", mallory.priv}
	cm, err := cs.CoreV1().ConfigMaps("team-b").Get(ctx, ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[BundleKey] = bundleData(t, bob, evil)
	if _, err := cs.CoreV1().ConfigMaps("team-b").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "conflicting alice refused", func() bool { return !authenticates(t, addr, alice) })
	if authenticates(t, addr, evil) {
		t.Fatal("the conflicting key authenticated")
	}
	if !authenticates(t, addr, bob) {
		t.Fatal("bob lost by an unrelated conflict")
	}

	// Removal: team-b's ConfigMap goes, alice is hers again and bob unknown.
	if err := cs.CoreV1().ConfigMaps("team-b").Delete(ctx, ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice back after the removal", func() bool { return authenticates(t, addr, alice) })
	eventually(t, "bob gone after the removal", func() bool { return !authenticates(t, addr, bob) })
}

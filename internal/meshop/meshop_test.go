package meshop

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// startAPIServer: a real kube-apiserver + etcd with the HSAgent CRD.
func startAPIServer(t *testing.T) client.Client {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		out, err := exec.Command(filepath.Join("..", "..", "hack", "envtest-assets.sh")).Output()
		if err != nil {
			t.Fatalf("hack/envtest-assets.sh: %v", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}}
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
	return c
}

// seed: in namespace fleet, alice and bob cycle with each other (alice's
// side fresh, bob's pairs to alice 10 minutes old); carol is not Available
// and has no cycles.
func seed(t *testing.T, c client.Client) {
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

func TestCollectorAndPageFromHSAgentStatus(t *testing.T) {
	c := startAPIServer(t)
	seed(t, c)
	col := &Collector{Reader: c, StaleAfter: 5 * time.Minute, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	got := gather(t, reg)
	want := map[string]float64{
		`hsfleet_hsagent_ready{hsagent="alice",namespace="fleet"}`:                                            1,
		`hsfleet_hsagent_ready{hsagent="bob",namespace="fleet"}`:                                              1,
		`hsfleet_hsagent_ready{hsagent="carol",namespace="fleet"}`:                                            0,
		`hsfleet_hsagent_cycles_total{hsagent="alice",namespace="fleet"}`:                                     30,
		`hsfleet_hsagent_cycles_total{hsagent="carol",namespace="fleet"}`:                                     0,
		`hsfleet_hsagent_peers{hsagent="bob",namespace="fleet"}`:                                              1,
		`hsfleet_mesh_pair_last_cycle_timestamp_seconds{initiator="alice",namespace="fleet",responder="bob"}`: float64(now.Add(-5 * time.Second).Unix()),
		`hsfleet_mesh_pair_last_cycle_timestamp_seconds{initiator="bob",namespace="fleet",responder="alice"}`: float64(now.Add(-10 * time.Minute).Unix()),
		`hsfleet_mesh_pairs{namespace="fleet",status="never"}`:                                                4,
		`hsfleet_mesh_pairs{namespace="fleet",status="ok"}`:                                                   1,
		`hsfleet_mesh_pairs{namespace="fleet",status="stale"}`:                                                1,
		`hsfleet_mesh_collect_errors_total{}`:                                                                 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v); want %v", k, g, ok, v)
		}
	}
	pairs := 0
	for k := range got {
		if strings.HasPrefix(k, "hsfleet_mesh_pair_last_cycle_timestamp_seconds{") {
			pairs++
		}
	}
	if pairs != 2 {
		t.Errorf("%d pair timestamps; want 2 (pairs that never cycled have none)", pairs)
	}

	srv := httptest.NewServer(mesh.Handler(Source(c, 5*time.Minute), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + PagePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, ">carol<") || !strings.Contains(page, `class="notready"`) || !strings.Contains(page, `class="cell stale"`) {
		t.Errorf("page from HSAgent status: %s\n%s", resp.Status, page)
	}
}

// gather flattens a registry into "name{labels}" -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

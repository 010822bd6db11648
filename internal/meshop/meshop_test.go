package meshop

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/controllers"
	"github.com/hsfleet/hsfleet/internal/mesh"
	"github.com/hsfleet/hsfleet/internal/mesh/meshtest"
)

// seededFleet is the hub's cache of meshtest.Seed's conversations: alice ->
// bob cycled 5 s before now (a verified cycle when verified), bob -> alice
// 10 minutes before; carol none.
func seededFleet(now time.Time, verified bool) *controllers.FleetMesh {
	fresh, old := now.Add(-5*time.Second), now.Add(-10*time.Minute)
	members := []controllers.MeshMember{
		{Namespace: "fleet", Name: "alice", AgentID: "id-a", StaleAfter: 5 * time.Minute},
		{Namespace: "fleet", Name: "bob", AgentID: "id-b", StaleAfter: 5 * time.Minute},
		{Namespace: "fleet", Name: "carol", AgentID: "id-c", StaleAfter: 5 * time.Minute},
	}
	rows := []store.FleetRow{
		{SelfID: "id-a", PeerID: "id-b", Initiator: true, Cycles: 20, Verified: true, LastCycleAt: &fresh, LastCycleVerified: verified},
		{SelfID: "id-b", PeerID: "id-a", Initiator: false, Cycles: 20, Verified: true, LastCycleAt: &fresh, LastCycleVerified: verified},
		{SelfID: "id-b", PeerID: "id-a", Initiator: true, Cycles: 10, Verified: true, LastCycleAt: &old},
		{SelfID: "id-a", PeerID: "id-b", Initiator: false, Cycles: 10, Verified: true, LastCycleAt: &old},
	}
	return controllers.FleetMeshFromRows(members, rows)
}

func TestCollectorAndPageFromHubCache(t *testing.T) {
	now := time.Now()
	c, _ := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	meshtest.Seed(t, c, now)
	fleet := seededFleet(now, true)
	col := &Collector{Reader: c, Fleet: fleet, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	got := gather(t, reg)
	want := map[string]float64{
		`hsfleet_hsagent_ready{hsagent="alice",namespace="fleet"}`:        1,
		`hsfleet_hsagent_ready{hsagent="carol",namespace="fleet"}`:        0,
		`hsfleet_hsagent_cycles_total{hsagent="alice",namespace="fleet"}`: 30,
		`hsfleet_hsagent_peers{hsagent="bob",namespace="fleet"}`:          1,
		// Only the stale pair has a series; the fresh one is counted.
		`hsfleet_mesh_pair_last_cycle_timestamp_seconds{initiator="bob",namespace="fleet",responder="alice"}`: float64(now.Add(-10*time.Minute).UnixMilli()) / 1000,
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
	if n := countPrefix(got, "hsfleet_mesh_pair_last_cycle_timestamp_seconds{"); n != 1 {
		t.Errorf("%d pair series; want 1 (only stale pairs)", n)
	}

	srv := httptest.NewServer(mesh.Handler(HubSource(c, fleet, 5*time.Minute), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + PagePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, ">carol<") || !strings.Contains(page, `class="notready"`) || !strings.Contains(page, `class="cell stale"`) {
		t.Errorf("page from the hub cache: %s\n%s", resp.Status, page)
	}

	// "#" from the hub cache: only for a verified last cycle within the
	// window; an unverified (Python, open-mode) one is a cycle, not "#".
	for _, verified := range []bool{true, false} {
		v, err := HubSource(c, seededFleet(now, verified), 5*time.Minute)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ab := v.Cells[0][1] // alice -> bob
		if ab.Status != mesh.StatusOK || ab.Cycles != 20 || ab.Verified != verified {
			t.Errorf("hub source, last cycle verified %v: alice -> bob = %+v", verified, ab)
		}
		if ba := v.Cells[1][0]; ba.Status != mesh.StatusStale || ba.Verified {
			t.Errorf("hub source: bob -> alice = %+v; want stale, not verified", ba)
		}
	}
}

// At 1,000 agents, half of whose pairs are stale, the series count is 3 per
// HSAgent plus a constant per namespace, and the page a bounded matrix.
func TestSeriesBoundedAt1000Agents(t *testing.T) {
	const agents, peersEach, maxPairs = 1000, 30, 50
	now := time.Now()
	c, _ := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "big"}}); err != nil {
		t.Fatal(err)
	}
	name := func(i int) string { return fmt.Sprintf("agent-%04d", i) }
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < agents; i += 8 {
				errs <- c.Create(ctx, &v1alpha1.HSAgent{ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: "big"}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	members := make([]controllers.MeshMember, agents)
	var rows []store.FleetRow
	fresh, old := now.Add(-time.Second), now.Add(-time.Hour)
	for i := range agents {
		members[i] = controllers.MeshMember{Namespace: "big", Name: name(i), AgentID: fmt.Sprintf("id-%04d", i), StaleAfter: time.Minute}
	}
	for i := range agents {
		for k := 1; k <= peersEach; k++ {
			at := &fresh
			if k%2 == 0 {
				at = &old
			}
			self, peer := members[i].AgentID, members[(i+k)%agents].AgentID
			rows = append(rows,
				store.FleetRow{SelfID: self, PeerID: peer, Initiator: true, Cycles: 3, LastCycleAt: at},
				store.FleetRow{SelfID: peer, PeerID: self, Initiator: false, Cycles: 3, LastCycleAt: at})
		}
	}
	fleet := controllers.FleetMeshFromRows(members, rows)
	col := &Collector{Reader: c, Fleet: fleet, MaxPairSeries: maxPairs, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	got := gather(t, reg)

	pairs := agents * peersEach
	if got[`hsfleet_mesh_pairs{namespace="big",status="ok"}`] != float64(pairs/2) ||
		got[`hsfleet_mesh_pairs{namespace="big",status="stale"}`] != float64(pairs/2) ||
		got[`hsfleet_mesh_pairs{namespace="big",status="never"}`] != float64(agents*(agents-1)-pairs) {
		t.Errorf("pair counts not exact: %v %v %v", got[`hsfleet_mesh_pairs{namespace="big",status="ok"}`],
			got[`hsfleet_mesh_pairs{namespace="big",status="stale"}`], got[`hsfleet_mesh_pairs{namespace="big",status="never"}`])
	}
	if n := countPrefix(got, "hsfleet_mesh_pair_last_cycle_timestamp_seconds{"); n != maxPairs {
		t.Errorf("%d pair series; want the bound %d", n, maxPairs)
	}
	if want := 3*agents + 3 + maxPairs + 1; len(got) != want {
		t.Errorf("%d series at %d agents; want %d (3 per agent + 3 per namespace + %d pairs + 1)", len(got), agents, want, maxPairs)
	}

	v, err := HubSource(c, fleet, time.Minute)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Agents) != MaxPageAgents || !v.Truncated || v.Stalled == 0 {
		t.Errorf("page: %d agents (truncated %v, stalled %d); want %d, truncated, stale pairs shown", len(v.Agents), v.Truncated, v.Stalled, MaxPageAgents)
	}
}

func countPrefix(m map[string]float64, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
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

package meshop

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hsfleet/hsfleet/internal/mesh"
	"github.com/hsfleet/hsfleet/internal/mesh/meshtest"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestCollectorAndPageFromHSAgentStatus(t *testing.T) {
	c, _ := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	meshtest.Seed(t, c, now)
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

package meshop

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

var (
	readyDesc = prometheus.NewDesc("hsfleet_hsagent_ready",
		"1 when the HSAgent's Available condition is True.", []string{"namespace", "hsagent"}, nil)
	cyclesDesc = prometheus.NewDesc("hsfleet_hsagent_cycles_total",
		"Completed handshake cycles of the HSAgent (status.cycles, refreshed every status interval).", []string{"namespace", "hsagent"}, nil)
	peersDesc = prometheus.NewDesc("hsfleet_hsagent_peers",
		"Distinct peers of the HSAgent (status.peerCount).", []string{"namespace", "hsagent"}, nil)
	pairLastDesc = prometheus.NewDesc("hsfleet_mesh_pair_last_cycle_timestamp_seconds",
		"Unix time of the last completed cycle of a directed pair (from status; pairs that never cycled have none).",
		[]string{"namespace", "initiator", "responder"}, nil)
	pairsDesc = prometheus.NewDesc("hsfleet_mesh_pairs",
		"Directed pairs by status: ok (a cycle within the stale window), stale, never.", []string{"namespace", "status"}, nil)
	collectErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hsfleet", Subsystem: "mesh",
		Name: "collect_errors_total", Help: "Scrapes whose HSAgent list failed (the mesh metrics are then missing)."})
)

// Collector exports the mesh from HSAgent status on every scrape.
type Collector struct {
	Reader     client.Reader // the manager's cache
	StaleAfter time.Duration
	Log        *slog.Logger
	Now        func() time.Time
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readyDesc, cyclesDesc, peersDesc, pairLastDesc, pairsDesc} {
		ch <- d
	}
	collectErrors.Describe(ch)
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	defer collectErrors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := byNamespace(ctx, c.Reader)
	if err != nil {
		collectErrors.Inc()
		c.Log.Warn("mesh metrics: cannot list HSAgents", "error", err)
		return
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	for ns, agents := range groups {
		for _, a := range agents {
			ready := 0.0
			if meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionAvailable) {
				ready = 1
			}
			ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready, ns, a.Name)
			ch <- prometheus.MustNewConstMetric(cyclesDesc, prometheus.CounterValue, float64(a.Status.Cycles), ns, a.Name)
			ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(a.Status.PeerCount), ns, a.Name)
		}
		c.collectPairs(ch, ns, mesh.Build(now(), c.StaleAfter, mesh.FromHSAgents(agents)))
	}
}

func (c *Collector) collectPairs(ch chan<- prometheus.Metric, ns string, v *mesh.View) {
	counts := map[mesh.Status]int{mesh.StatusOK: 0, mesh.StatusStale: 0, mesh.StatusNever: 0}
	for _, p := range v.Worst {
		cell := v.Cell(p)
		counts[cell.Status]++
		if cell.AgeSec >= 0 {
			last := v.At.Add(-time.Duration(cell.AgeSec * float64(time.Second)))
			ch <- prometheus.MustNewConstMetric(pairLastDesc, prometheus.GaugeValue, float64(last.UnixMilli())/1000,
				ns, v.Agents[p.Initiator].Name, v.Agents[p.Responder].Name)
		}
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(pairsDesc, prometheus.GaugeValue, float64(n), ns, string(st))
	}
}

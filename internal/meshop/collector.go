package meshop

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/controllers"
)

// DefaultMaxPairSeries bounds the per-pair series of one namespace: only
// stale pairs get one, the oldest first, so a healthy fleet exports none
// and a broken one of any size exports at most this many.
const DefaultMaxPairSeries = 50

var (
	readyDesc = prometheus.NewDesc("hsfleet_hsagent_ready",
		"1 when the HSAgent's Available condition is True.", []string{"namespace", "hsagent"}, nil)
	cyclesDesc = prometheus.NewDesc("hsfleet_hsagent_cycles_total",
		"Completed handshake cycles of the HSAgent (status.cycles, refreshed every status interval).", []string{"namespace", "hsagent"}, nil)
	peersDesc = prometheus.NewDesc("hsfleet_hsagent_peers",
		"Distinct peers of the HSAgent (status.peerCount).", []string{"namespace", "hsagent"}, nil)
	pairLastDesc = prometheus.NewDesc("hsfleet_mesh_pair_last_cycle_timestamp_seconds",
		"Unix time of the last completed cycle of a stale directed pair: only stale pairs, the oldest first, at most --mesh-max-pair-series per namespace.",
		[]string{"namespace", "initiator", "responder"}, nil)
	pairsDesc = prometheus.NewDesc("hsfleet_mesh_pairs",
		"Directed pairs of the namespace's agents by status: ok (a cycle within the initiator's stale window), stale, never (exact, from the operator's database cache).",
		[]string{"namespace", "status"}, nil)
	collectErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hsfleet", Subsystem: "mesh",
		Name: "collect_errors_total", Help: "Scrapes whose HSAgent list failed (the per-HSAgent metrics are then missing)."})
)

// Fleet is the mesh as the operator's status hub caches it
// (controllers.FleetMesh): per-namespace aggregates, a bounded set of the
// stalest pairs, and the pairs among a few named agents.
type Fleet interface {
	Namespaces(now time.Time, maxWorst int) []controllers.MeshNamespace
	Pairs(now time.Time, namespace string, names []string) []controllers.MeshPair
}

// Collector exports per-HSAgent metrics from status and per-namespace pair
// metrics from the status hub's cache on every scrape. Its series count is
// 3 per HSAgent plus, per namespace, 3 + at most MaxPairSeries.
type Collector struct {
	Reader client.Reader // the manager's cache
	Fleet  Fleet
	// MaxPairSeries per namespace; 0 means DefaultMaxPairSeries.
	MaxPairSeries int
	Log           *slog.Logger
	Now           func() time.Time
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readyDesc, cyclesDesc, peersDesc, pairLastDesc, pairsDesc} {
		ch <- d
	}
	collectErrors.Describe(ch)
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	defer collectErrors.Collect(ch)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.collectAgents(ch)
	maxPairs := c.MaxPairSeries
	if maxPairs <= 0 {
		maxPairs = DefaultMaxPairSeries
	}
	for _, ns := range c.Fleet.Namespaces(now(), maxPairs) {
		for st, n := range map[string]int{"ok": ns.OK, "stale": ns.Stale, "never": ns.Never} {
			ch <- prometheus.MustNewConstMetric(pairsDesc, prometheus.GaugeValue, float64(n), ns.Namespace, st)
		}
		for _, p := range ns.Worst {
			ch <- prometheus.MustNewConstMetric(pairLastDesc, prometheus.GaugeValue, float64(p.LastCycle.UnixMilli())/1000,
				ns.Namespace, p.Initiator, p.Responder)
		}
	}
}

// collectAgents exports each HSAgent's readiness and exact totals from
// status (the manager's cache).
func (c *Collector) collectAgents(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var list v1alpha1.HSAgentList
	if err := c.Reader.List(ctx, &list); err != nil {
		collectErrors.Inc()
		c.Log.Warn("mesh metrics: cannot list HSAgents", "error", err)
		return
	}
	for _, a := range list.Items {
		ready := 0.0
		if meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionAvailable) {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready, a.Namespace, a.Name)
		ch <- prometheus.MustNewConstMetric(cyclesDesc, prometheus.CounterValue, float64(a.Status.Cycles), a.Namespace, a.Name)
		ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(a.Status.PeerCount), a.Namespace, a.Name)
	}
}

package meshop

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/hsfleet/hsfleet/controllers"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// PagePath is where the operator serves the mesh page, on its metrics
// server and behind the same authentication and authorization.
const PagePath = "/mesh/"

// Install registers the collector with the manager's metrics registry and
// serves the mesh page next to /metrics. fleet is the operator's status hub
// cache (controllers.Operator.Mesh); staleAfter is the page's stale window.
func Install(mgr manager.Manager, fleet Fleet, maxPairSeries int, staleAfter time.Duration, log *slog.Logger) error {
	if fleet == nil {
		fleet = (*controllers.FleetMesh)(nil) // no hub: pairs all unknown
	}
	c := &Collector{Reader: mgr.GetCache(), Fleet: fleet, MaxPairSeries: maxPairSeries, Log: log}
	for _, col := range []prometheus.Collector{c, mesh.SourceErrors} {
		// Already registered: a second manager in the same process (tests).
		if err := metrics.Registry.Register(col); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("mesh metrics: %w", err)
		}
	}
	return mgr.AddMetricsServerExtraHandler(PagePath, mesh.Handler(HubSource(mgr.GetCache(), fleet, staleAfter), log))
}

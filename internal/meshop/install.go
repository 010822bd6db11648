package meshop

import (
	"fmt"
	"log/slog"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/hsfleet/hsfleet/internal/mesh"
)

// PagePath is where the operator serves the mesh page, on its metrics
// server and behind the same authentication and authorization.
const PagePath = "/mesh/"

// Install registers the collector with the manager's metrics registry and
// serves the mesh page next to /metrics.
func Install(mgr manager.Manager, staleAfter time.Duration, log *slog.Logger) error {
	c := &Collector{Reader: mgr.GetCache(), StaleAfter: staleAfter, Log: log}
	if err := metrics.Registry.Register(c); err != nil {
		return fmt.Errorf("mesh metrics: %w", err)
	}
	if err := metrics.Registry.Register(mesh.SourceErrors); err != nil {
		return fmt.Errorf("mesh metrics: %w", err)
	}
	return mgr.AddMetricsServerExtraHandler(PagePath, mesh.Handler(Source(mgr.GetCache(), staleAfter), log))
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/hsfleet/hsfleet/agent/engine"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// agentHTTP serves the probes and metrics of one agent.
type agentHTTP struct {
	ln  net.Listener
	srv *http.Server
}

func newAgentHTTP(addr string, eng *engine.Engine, link *relayLink, logger *slog.Logger) (*agentHTTP, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(eng.Metrics().Collectors()...)
	reg.MustRegister(store.Collectors()...)
	reg.MustRegister(link.Collectors()...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", readyzHandler(link.Up, eng.StoreHealthy))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	logger.Info("serving probes and metrics", "addr", ln.Addr().String())
	return &agentHTTP{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}, nil
}

func (h *agentHTTP) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- h.srv.Serve(h.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readyzHandler reports ready while the relay connection is up and the
// last database call succeeded; either failing takes the agent out of
// rotation until it recovers, without restarting it (that is /healthz).
func readyzHandler(relayUp, storeHealthy func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !relayUp():
			http.Error(w, "not connected to the relay", http.StatusServiceUnavailable)
		case !storeHealthy():
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ok\n"))
		}
	})
}

// softwareVersion is the module version the binary was built from.
func softwareVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

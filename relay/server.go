package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// Warning lines sent by the relay. The rate, idle and shutdown texts are
// the Rust server's, byte for byte.
const (
	WarnRateLimited = "Warning: You are sending messages too quickly. Please slow down.\n"
	WarnIdle        = "Warning: You have been disconnected due to inactivity.\n"
	WarnShutdown    = "Warning: Server is shutting down.\n"
	WarnSlow        = "Warning: You are not reading fast enough; disconnecting.\n"
	WarnInvalidUTF8 = "Warning: Line is not valid UTF-8; dropped.\n"
	WarnServerFull  = "Warning: Server is full.\n"
)

// WarnTooLong is the warning for a line over limit bytes.
func WarnTooLong(limit int) string {
	return "Warning: Line longer than " + strconv.Itoa(limit) + " bytes; dropped.\n"
}

// Server is a broadcast relay. Create it with NewServer, run it with Serve.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
	httpLn   net.Listener
	registry *prometheus.Registry
	metrics  *metrics
	hub      *hub
	clock    *coarseClock
	bus      *bus      // nil for a single relay
	presence *presence // other replicas' proven IDs; nil without bus

	presenceKick chan struct{} // a replica asked for a re-announce
	trust        *trust.Policy // nil without a trust bundle: no authentication

	ready   atomic.Bool
	closing atomic.Bool
	done    chan struct{} // closed when shutdown starts
	conns   sync.WaitGroup
	served  atomic.Bool

	warnSlow, warnTooLong, warnUTF8, warnRate, warnIdle, warnShutdown, warnFull *frame
	warnNotJSON, warnRelayedLong                                                *frame
	warnAuthRequired, warnAuthTimeout, warnReauth, warnBundleChanged            *frame
}

// NewServer validates cfg and binds the client and metrics listeners, so
// Addr is valid (port 0 resolved) before Serve runs. Serve must be called to
// release them.
func NewServer(cfg ServerConfig, logger *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("relay config: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	reg := cfg.Registry
	if reg == nil {
		reg = newDefaultRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: logger, registry: reg, metrics: m, hub: newHub(), clock: newCoarseClock(), done: make(chan struct{}),
		warnSlow: staticFrame(WarnSlow), warnTooLong: staticFrame(WarnTooLong(cfg.MaxLine)),
		warnUTF8: staticFrame(WarnInvalidUTF8), warnRate: staticFrame(WarnRateLimited),
		warnIdle: staticFrame(WarnIdle), warnShutdown: staticFrame(WarnShutdown), warnFull: staticFrame(WarnServerFull),
		warnNotJSON: staticFrame(WarnNotJSONObject), warnRelayedLong: staticFrame(WarnRelayedTooLong(cfg.MaxRelayedLine)),
		warnAuthRequired: staticFrame(WarnAuthRequired), warnAuthTimeout: staticFrame(WarnAuthTimeout),
		warnReauth: staticFrame(WarnReauth), warnBundleChanged: staticFrame(WarnBundleChanged),
	}
	s.hub.contested = m.routesContested.Inc
	if cfg.TrustBundle != "" {
		s.trust = trust.NewPolicy(trust.Fleet, nil)
		if err := s.trust.LoadFile(cfg.TrustBundle); err != nil {
			// As the agents do: start, refuse every ID, and load the
			// bundle when it appears.
			m.bundleReloadErrors.Inc()
			logger.Warn("trust bundle not loaded yet; every agent ID is unknown until it is", "path", cfg.TrustBundle, "error", err)
		}
		m.bundleAgents.Set(float64(len(s.trust.Bundle())))
	} else if cfg.TrustSource != nil {
		// Empty until the source's first view: every agent ID is
		// unknown, as with a bundle file not written yet.
		s.trust = trust.NewPolicy(trust.Fleet, nil)
	}
	for _, g := range []prometheus.Collector{s.clusterRoutesGauge(), s.presenceGauge()} {
		if err := reg.Register(g); err != nil {
			return nil, fmt.Errorf("register relay metrics: %w", err)
		}
	}
	var lc net.ListenConfig
	if s.ln, err = lc.Listen(context.Background(), "tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("relay listen %s: %w", cfg.Listen, err)
	}
	if cfg.MetricsListen != "" {
		if s.httpLn, err = lc.Listen(context.Background(), "tcp", cfg.MetricsListen); err != nil {
			s.ln.Close()
			return nil, fmt.Errorf("relay metrics listen %s: %w", cfg.MetricsListen, err)
		}
		s.http = &http.Server{Handler: s.healthHandler(), ReadHeaderTimeout: 5 * time.Second}
	}
	if cfg.Cluster.Listen != "" {
		// Last, so a failure above never leaves a NATS server running.
		s.presence = newPresence(0)
		if s.bus, err = startBus(cfg.Cluster, logger, m, s.deliverBus); err != nil {
			s.ln.Close()
			if s.httpLn != nil {
				s.httpLn.Close()
			}
			return nil, err
		}
		s.startPresence()
	}
	return s, nil
}

// Addr is the address clients connect to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr is the health and metrics address, or nil when disabled.
func (s *Server) MetricsAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// Registry is where the relay's metrics live.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Serve accepts clients until ctx ends, then shuts down gracefully: stop
// accepting, warn every client, drain their queues, all within
// ShutdownTimeout. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("relay: Serve called twice")
	}
	go s.clock.run(s.done)
	if s.cfg.TrustSource != nil {
		go s.cfg.TrustSource.Watch(ctx, s.trustUpdated)
	} else if s.trust != nil {
		go s.trust.WatchFile(ctx, s.cfg.TrustBundle, s.cfg.TrustBundlePoll, s.log, s.bundleReloaded)
	}
	httpErr := make(chan error, 1)
	if s.http != nil {
		go func() { httpErr <- s.http.Serve(s.httpLn) }()
	}
	acceptDone := make(chan error, 1)
	acceptExited := make(chan struct{})
	go func() {
		defer close(acceptExited)
		acceptDone <- s.acceptLoop()
	}()
	s.ready.Store(true)
	s.log.Info("relay listening", "addr", s.Addr().String(), "metrics_addr", addrString(s.MetricsAddr()),
		"max_line", s.cfg.MaxLine, "max_relayed_line", s.cfg.MaxRelayedLine, "allow_plain_text", s.cfg.AllowPlainText, "directed_routing", s.cfg.DirectedRouting,
		"trust_bundle", s.cfg.TrustBundle, "trust_source", s.cfg.TrustSource != nil, "require_auth", s.cfg.RequireAuth)

	var err error
	select {
	case <-ctx.Done():
	case err = <-acceptDone:
		err = fmt.Errorf("relay accept: %w", err)
	case err = <-httpErr:
		err = fmt.Errorf("relay metrics server: %w", err)
	}
	s.shutdown(acceptExited)
	return err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// acceptLoop runs until the listener is closed. Temporary errors (such as
// running out of file descriptors) back off instead of spinning.
func (s *Server) acceptLoop() error {
	backoff := 5 * time.Millisecond
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if temporaryAcceptError(err) {
				s.log.Warn("accept failed, backing off", "error", err, "backoff", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
					return nil
				}
				backoff = min(2*backoff, time.Second)
				continue
			}
			return err
		}
		backoff = 5 * time.Millisecond
		s.startConn(nc)
	}
}

func (s *Server) startConn(nc net.Conn) {
	s.tuneSocket(nc)
	c := newConn(s, nc)
	s.metrics.accepted.Inc()
	if ok, reason := s.hub.add(c, s.cfg.MaxConnections); !ok {
		s.metrics.disconnects.WithLabelValues(reason).Inc()
		c.log.Warn("client refused", "reason", reason)
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			w := s.warnFull
			if reason == reasonShutdown {
				w = s.warnShutdown
			}
			c.writeFinal(w, false)
			nc.Close()
		}()
		return
	}
	s.metrics.connections.Inc()
	c.log.Info("client connected")
	s.conns.Add(2)
	go func() { defer s.conns.Done(); c.writeLoop() }()
	go func() { defer s.conns.Done(); c.readLoop() }()
}

// tuneSocket applies the configured kernel send buffer; a failure only costs
// memory or detection time, so it is logged, not fatal.
func (s *Server) tuneSocket(nc net.Conn) {
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if n := s.cfg.SocketSendBuffer; n > 0 {
		if err := tcp.SetWriteBuffer(n); err != nil {
			s.log.Warn("set socket send buffer", "error", err)
		}
	}
}

// shutdown warns and drains every client within ShutdownTimeout, then cuts
// whatever is left.
func (s *Server) shutdown(acceptExited <-chan struct{}) {
	s.ready.Store(false)
	s.closing.Store(true)
	close(s.done)
	s.ln.Close()
	// No startConn may add to s.conns once Wait below has begun.
	<-acceptExited
	conns := s.hub.close()
	s.log.Info("relay shutting down", "clients", len(conns), "timeout", s.cfg.ShutdownTimeout)
	now := time.Now()
	for _, c := range conns {
		c.setReason(reasonShutdown)
		c.q.close(s.warnShutdown)
		_ = c.nc.SetReadDeadline(now)
	}
	drained := make(chan struct{})
	go func() { s.conns.Wait(); close(drained) }()
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.log.Warn("shutdown timeout, closing remaining clients")
		for _, c := range conns {
			c.nc.Close()
		}
		<-drained
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.http.Shutdown(ctx)
	}
	if s.bus != nil {
		s.bus.close()
	}
	s.log.Info("relay stopped")
}

// bundleReloaded is the trust bundle watcher's callback.
func (s *Server) bundleReloaded(_ int, err error) {
	if err != nil {
		s.metrics.bundleReloadErrors.Inc()
		return
	}
	s.revalidate()
}

package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Replicas share one broadcast domain through a NATS server embedded in
// each relay, joined to the others by NATS cluster routes. Embedding keeps
// the chart to one workload (no second StatefulSet to run, upgrade and
// secure), and a route failure only splits the domain while the replicas
// keep serving their own clients. See docs/relay-ha.md.

// Subjects between replicas. One wildcard subscription receives all three,
// so one goroutine handles them in publish order (per-sender order holds
// across subjects).
const (
	// busSubject carries relayed lines: delivered to the directed
	// recipient if it is connected there, otherwise broadcast.
	busSubject = "hsfleet.relay.lines"
	// directedSubject carries lines to a recipient proven on another
	// replica; the sender did not broadcast them, and neither does the
	// receiver (recipient gone: dropped). Replicas from before presence
	// do not subscribe to it, and never announce, so never receive one.
	directedSubject = "hsfleet.relay.directed"
	// presenceSubject carries presence messages (presencemsg.go).
	presenceSubject = "hsfleet.relay.presence"
	busWildcard     = "hsfleet.relay.*"
)

// ClusterConfig joins a relay to its replicas; an empty Listen means a
// single relay with no NATS at all (the fast default).
type ClusterConfig struct {
	// Name is the NATS cluster name; every replica must use the same one.
	Name string
	// Listen is the host:port the embedded NATS server accepts routes on.
	Listen string
	// Advertise is the host:port other replicas reach this one at (empty:
	// NATS picks the listen address).
	Advertise string
	// Routes are the other replicas' route URLs (nats-route://host:port).
	// One reachable seed is enough: NATS gossips the rest of the mesh.
	Routes []string
	// PendingBytes bounds lines received from other replicas and not yet
	// queued to clients; past it NATS drops them (counted).
	PendingBytes int
	// PresencePeriod is how often a replica re-announces its proven agent
	// IDs; the others forget them after 3 periods without one. 0 means
	// DefaultPresencePeriod (hsfleet relay --cluster-presence-period).
	PresencePeriod time.Duration
}

// DefaultPresencePeriod is the re-announce period.
const DefaultPresencePeriod = 5 * time.Second

// DefaultClusterPendingBytes bounds the inbound bus buffer.
const DefaultClusterPendingBytes = 64 << 20

// bus is this replica's link to the others.
type bus struct {
	ns   *natsserver.Server
	nc   *nats.Conn
	sub  *nats.Subscription
	name string // this replica in presence messages; new per process
}

// startBus starts the embedded NATS server and subscribes deliver to the
// lines other replicas publish. NoEcho keeps a replica's own lines from
// coming back, so local clients see each line once.
func startBus(cfg ClusterConfig, log *slog.Logger, m *metrics, deliver func(subject string, data []byte)) (*bus, error) {
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster listen %q: %w", cfg.Listen, err)
	}
	name := cfg.Name
	if name == "" {
		name = "hsfleet-relay"
	}
	token := nats.NewInbox()[7:]
	serverName := "relay-" + nats.NewInbox()[7:]
	opts := &natsserver.Options{
		ServerName: serverName,
		// The relay itself uses the in-process connection, but NATS starts
		// routing only once a client port is up: bind a random loopback
		// port, locked with a per-process token.
		Host: "127.0.0.1", Port: -1, Authorization: token,
		NoSigs: true,
		NoLog:  true,
		Cluster: natsserver.ClusterOpts{
			Name: name, Host: host, Port: port, Advertise: cfg.Advertise,
			ConnectRetries: -1, // keep retrying seeds that are not up yet (forever)
		},
		Routes: natsserver.RoutesFromStr(strings.Join(cfg.Routes, ",")),
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready within 10s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Token(token), nats.NoEcho(), nats.MaxReconnects(-1),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				m.clusterDropped.Inc()
			}
			log.Warn("cluster bus error", "error", err)
		}))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats connect: %w", err)
	}
	sub, err := nc.Subscribe(busWildcard, func(msg *nats.Msg) { deliver(msg.Subject, msg.Data) })
	if err == nil {
		pending := cfg.PendingBytes
		if pending <= 0 {
			pending = DefaultClusterPendingBytes
		}
		err = sub.SetPendingLimits(-1, pending)
	}
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, fmt.Errorf("cluster subscribe: %w", err)
	}
	log.Info("cluster bus started", "cluster", name, "route_addr", addrString(ns.ClusterAddr()), "routes", cfg.Routes)
	return &bus{ns: ns, nc: nc, sub: sub, name: serverName}, nil
}

// routes is the number of other replicas this one has routes to. (NATS
// pools several route connections per peer, so NumRoutes would count
// those, not replicas.)
func (b *bus) routes() int { return b.ns.NumRemotes() }

func (b *bus) close() {
	_ = b.nc.Drain()
	b.nc.Close()
	b.ns.Shutdown()
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := net.LookupPort("tcp", p)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = -1 // NATS: pick a free port
	}
	return h, port, nil
}

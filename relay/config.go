package relay

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for ServerConfig; zero fields take these.
const (
	DefaultListen          = "127.0.0.1:8888"
	DefaultMaxLine         = 64 << 10 // the Python server's StreamReader limit
	DefaultQueueBytes      = 4 << 20
	DefaultWriteTimeout    = 10 * time.Second
	DefaultStallBytes      = 64 << 10
	DefaultStallTimeout    = 20 * time.Millisecond
	DefaultStuckTimeout    = 250 * time.Millisecond
	DefaultShutdownTimeout = 5 * time.Second
	DefaultAuthTimeout     = 10 * time.Second
)

// ServerConfig configures a relay Server. The zero value (plus Listen)
// behaves like the Python server apart from the documented differences.
type ServerConfig struct {
	// Listen is the TCP address clients connect to.
	Listen string
	// MetricsListen is the HTTP address for /healthz, /readyz and /metrics;
	// empty disables the HTTP listener.
	MetricsListen string
	// MaxLine is the longest accepted line in bytes, without its "\n".
	MaxLine int
	// QueueBytes bounds each client's outbound queue; a client whose queue
	// would grow past it is disconnected as too slow.
	QueueBytes int
	// WriteTimeout bounds a socket write to a client: one blocked longer
	// (between WriteTimeout/2 and WriteTimeout, the deadline is renewed
	// lazily) marks the client as too slow.
	WriteTimeout time.Duration
	// StallBytes is the soft bound of each client's queue: past it, a
	// sender's reader waits (StallTimeout at most) for that client to drain,
	// which pushes back on senders through TCP and keeps queues, and so
	// latency, short under overload.
	StallBytes int
	// StallTimeout is the longest a sender's reader waits, per line, for a
	// recipient that is behind but still draining. Negative disables waiting.
	StallTimeout time.Duration
	// StuckTimeout: a client whose socket write has been blocked this long
	// is stuck, not lagging: senders stop waiting for it, so its queue fills
	// and it is disconnected. It bounds how long one stopped reader can slow
	// the others.
	StuckTimeout time.Duration
	// RateLimitPerMinute limits lines per connection in a fixed 60 s window
	// (the Rust server's rule); 0 disables it.
	RateLimitPerMinute int
	// IdleTimeout disconnects a client that sends nothing for this long;
	// 0 disables it.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the drain after Serve's context ends.
	ShutdownTimeout time.Duration
	// SocketSendBuffer sets SO_SNDBUF on client sockets (0 keeps the kernel's
	// autotuning, up to net.ipv4.tcp_wmem). A smaller value bounds kernel
	// memory per client and detects a stopped reader sooner.
	SocketSendBuffer int
	// MaxConnections caps concurrent clients; 0 means no cap.
	MaxConnections int
	// AllowPlainText relays any UTF-8 line. Off (the default), only lines
	// that are a JSON object a Summoner client can parse are relayed; the
	// rest are dropped with a warning to the sender (see filter.go). Turn it
	// on for plain-text Summoner apps.
	AllowPlainText bool
	// MaxRelayedLine caps a relayed line as a client receives it (wrapper
	// and newline included); longer ones are dropped with a warning to the
	// sender. 0 means DefaultMaxRelayedLine (no cap when MaxLine is set
	// above DefaultMaxLine), negative means no cap.
	MaxRelayedLine int
	// DirectedRouting delivers a line whose payload "to" names a learned
	// client id only to that client.
	DirectedRouting bool
	// TrustBundle is the path of the fleet trust bundle (agent ID -> base64
	// Ed25519 key, the agents' --trust-bundle file), polled for changes.
	// Set, it turns on authenticated registration: directed routing and
	// sender checks trust only IDs a client proved (docs/relay-auth.md).
	TrustBundle string
	// RequireAuth refuses clients that do not authenticate (Python
	// clients cannot). Off, they are served as broadcast clients that may
	// not claim a bundle ID. Needs TrustBundle.
	RequireAuth bool
	// TrustSource, instead of TrustBundle, supplies the bundle (e.g. every
	// namespace's hsfleet-trust ConfigMap through the Kubernetes API,
	// relay/kubetrust). At most one of the two.
	TrustSource TrustSource
	// TrustBundlePoll is how often the bundle file is checked for changes
	// (0: trust.DefaultWatchInterval).
	TrustBundlePoll time.Duration
	// AuthTimeout bounds the handshake, and with RequireAuth the wait for
	// a client's first line.
	AuthTimeout time.Duration
	// Cluster joins this relay to its replicas over embedded NATS; the
	// zero value runs a single relay.
	Cluster ClusterConfig
	// Registry receives the relay's metrics; nil means a fresh registry with
	// the Go and process collectors.
	Registry *prometheus.Registry
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.MaxLine == 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.MaxRelayedLine == 0 {
		c.MaxRelayedLine = DefaultMaxRelayedLine
		if c.MaxLine > DefaultMaxLine {
			// Accepting lines longer than a Python client can read
			// means this relay does not serve Python clients.
			c.MaxRelayedLine = -1
		}
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.StallBytes == 0 {
		c.StallBytes = DefaultStallBytes
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.StuckTimeout == 0 {
		c.StuckTimeout = DefaultStuckTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.AuthTimeout == 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	return c
}

func (c ServerConfig) validate() error {
	var errs []error
	if c.MaxLine < 1 {
		errs = append(errs, fmt.Errorf("max line %d: must be positive", c.MaxLine))
	}
	if c.QueueBytes < 1 {
		errs = append(errs, fmt.Errorf("queue bytes %d: must be positive", c.QueueBytes))
	}
	if c.StallBytes < 1 {
		errs = append(errs, fmt.Errorf("stall bytes %d: must be positive", c.StallBytes))
	}
	if c.RequireAuth && c.TrustBundle == "" && c.TrustSource == nil {
		errs = append(errs, errors.New("requiring authentication needs a trust bundle"))
	}
	if c.TrustBundle != "" && c.TrustSource != nil {
		errs = append(errs, errors.New("a trust bundle file and a trust source are exclusive"))
	}
	if c.WriteTimeout < 0 || c.ShutdownTimeout < 0 || c.IdleTimeout < 0 || c.StuckTimeout < 0 || c.AuthTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if c.Cluster.PresencePeriod < 0 {
		errs = append(errs, fmt.Errorf("cluster presence period %v: must not be negative", c.Cluster.PresencePeriod))
	}
	if c.RateLimitPerMinute < 0 || c.MaxConnections < 0 || c.SocketSendBuffer < 0 {
		errs = append(errs, errors.New("rate limit, max connections and socket buffer must not be negative"))
	}
	return errors.Join(errs...)
}

package engine

import (
	"errors"
	"log/slog"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// Defaults of Config.
const (
	DefaultRegisterInterval = time.Second
	DefaultRetryInterval    = time.Second
	DefaultMaxPeers         = 4096
	DefaultInboxSize        = 64
	// storeOpTimeout caps one database call; it is detached from the run
	// context so shutdown lets an in-flight write finish. A call gets at
	// most half the state timeout (storeTimeout), so a step that cannot be
	// saved fails while the conversation can still recover in time.
	storeOpTimeout = 10 * time.Second
	// DefaultCommitGather is how long the group writer waits for more
	// steps before a transaction, when enough conversations are active to
	// fill it (see gatherMinActive).
	DefaultCommitGather = 5 * time.Millisecond
)

// Transport is the relay connection (*relay.Client implements it).
type Transport interface {
	Send(line []byte) error
	Lines() <-chan []byte
}

// CycleEvent reports one completed cycle.
type CycleEvent struct {
	SelfID, PeerID string
	Role           protocol.Role
	// Started is when our side left its ready state for this cycle (the
	// responder: on register or reconnect; the initiator: on confirm).
	Started, Completed time.Time
	// Total is the pair's cycle count for this role after the cycle.
	Total int64
	// Verified: the cycle was authenticated end to end (docs/protocol.md
	// §7.4): both hs carried a valid bind, the peer's sealed message
	// confirmed the key, and the counting finish/close had a valid MAC.
	Verified bool
}

// Config configures an Engine.
type Config struct {
	Identity  *crypto.Identity
	Name      string
	Namespace string
	Version   string // software version recorded in the agents table

	Store     Store
	Agents    AgentRegistry // optional
	Transport Transport
	Policy    *trust.Policy // nil: open

	// Secure seals message into sec once a session key exists.
	Secure bool
	// LogSentNonces also writes our own nonces to nonce_event (flow
	// "sent"), as the reference does. The reference never reads them; we
	// read them only for the §6.1 late-respond recovery, which the RAM
	// mirror serves within a process's lifetime. Off, a cycle costs ~25%
	// fewer database writes. Received nonces, the replay defence, are
	// always written.
	LogSentNonces bool
	// DisableBinding makes the agent a legacy (Python-like) peer: its hs
	// carry no bind, its sealed messages no hsf header, its finalize
	// messages no MAC, so its cycles count as unverified on both sides.
	// For A/B benchmarks of the binding's cost only; a peer whose bundle
	// entry has bind1 rejects such an agent.
	DisableBinding   bool
	ExchangeLimit    int
	RegisterInterval time.Duration
	RetryInterval    time.Duration
	// CycleInterval pauses the initiator between a completed cycle and
	// the reconnect that starts the next one. 0 (the default) cycles back
	// to back, as fast as the peers and the database allow.
	CycleInterval time.Duration
	StateTimeout  time.Duration
	// MaxPeers bounds conversations so a flood of invented agent IDs cannot
	// exhaust memory or the database; lines from further peers are dropped.
	MaxPeers int
	// MaxActiveCycles bounds concurrent responder cycles (see
	// DefaultMaxActiveCycles); further starts wait their turn.
	MaxActiveCycles int
	InboxSize       int
	MaxLine         int // wire.Limits.MaxLine
	// CommitGather is how long the agent's group writer gathers steps
	// before a transaction while many conversations are active. 0: the
	// default; negative: never wait (the transactions still batch whatever
	// queued while the previous one ran).
	CommitGather time.Duration

	Logger  *slog.Logger
	Metrics *Metrics
	// OnCycle, if set, is called after each completed cycle, from the
	// conversation's goroutine; it must not block.
	OnCycle func(CycleEvent)
	Now     func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Identity == nil || c.Identity.ID == "" {
		return c, errors.New("engine: identity required")
	}
	if c.Store == nil || c.Transport == nil {
		return c, errors.New("engine: store and transport required")
	}
	if c.Policy == nil {
		c.Policy = trust.NewPolicy(trust.Open, nil)
	}
	if c.ExchangeLimit <= 0 {
		c.ExchangeLimit = protocol.DefaultExchangeLimit
	}
	if c.RegisterInterval <= 0 {
		c.RegisterInterval = DefaultRegisterInterval
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.StateTimeout <= 0 {
		c.StateTimeout = protocol.DefaultStateTimeout
	}
	if c.MaxPeers <= 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.MaxActiveCycles <= 0 {
		c.MaxActiveCycles = DefaultMaxActiveCycles
	}
	if c.CommitGather == 0 {
		c.CommitGather = DefaultCommitGather
	}
	if c.InboxSize <= 0 {
		c.InboxSize = DefaultInboxSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

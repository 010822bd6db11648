package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/agent/wire"
	"github.com/hsfleet/hsfleet/relay"
)

// Engine is one agent: it reads relay lines, routes each message to the
// (role, peer) conversation it concerns and announces itself with register.
type Engine struct {
	cfg       Config
	self      string
	selfBytes []byte
	machine   protocol.Machine
	log       *slog.Logger
	m         *Metrics

	mu    sync.Mutex
	convs map[convKey]*conv
	wg    sync.WaitGroup
	ctx   context.Context // the Run context, for conversations

	kick        chan struct{}
	slots       *cycleSlots
	starts      *startGate
	budget      *senderBudget
	writer      *groupWriter
	active      atomic.Int64 // conversations mid-cycle (the Active gauge)
	storeTime   time.Duration
	staleLog    rateLog
	lastStoreOK atomic.Int64 // unix nanos of the last successful store call
	storeFailed atomic.Bool
	started     time.Time // when Run began: the boot proof's ts
	// preloaded holds the rows ensureRoles read at start until each
	// conversation's first load takes its own (guarded by mu).
	preloaded map[convKey]store.RoleState
}

var nullToken = []byte("null")

type convKey struct {
	role protocol.Role
	peer string
}

// New validates cfg and returns an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	strict := cfg.Policy.Mode().Strict()
	// The TOFU pins are a cache of at most one pin per conversation pair
	// we would hold (issue 12 item 5: never pruned before).
	cfg.Policy.SetMaxPins(cfg.MaxPeers)
	e := &Engine{
		cfg:       cfg,
		self:      cfg.Identity.ID,
		selfBytes: []byte(cfg.Identity.ID),
		machine: protocol.Machine{ExchangeLimit: cfg.ExchangeLimit,
			Policy:         protocol.Policy{Strict: strict, RequireSealed: strict && cfg.Secure},
			DisableBinding: cfg.DisableBinding, StateTimeout: cfg.StateTimeout},
		log:    cfg.Logger.With("agent_id", cfg.Identity.ID),
		m:      cfg.Metrics,
		convs:  map[convKey]*conv{},
		kick:   make(chan struct{}, 1),
		slots:  &cycleSlots{limit: cfg.MaxActiveCycles},
		starts: newStartGate(cfg.MaxActiveCycles),
		budget: newSenderBudget(cfg, cfg.Policy.Mode() == trust.Fleet),
		// Half the state timeout: a step that cannot be saved fails while
		// its conversation can still recover.
		storeTime: min(storeOpTimeout, max(cfg.StateTimeout/2, 100*time.Millisecond)),
		staleLog:  rateLog{interval: 10 * time.Second},
	}
	e.writer = &groupWriter{st: cfg.Store, timeout: e.storeTime, gather: e.commitGather, onBatch: e.observeBatch}
	return e, nil
}

// ID is the agent's ID.
func (e *Engine) ID() string { return e.self }

// Metrics returns the engine's collectors.
func (e *Engine) Metrics() *Metrics { return e.m }

// StoreHealthy reports whether the last store call succeeded.
func (e *Engine) StoreHealthy() bool { return !e.storeFailed.Load() }

// Kick announces the agent now and makes every waiting conversation
// re-send at once. Call it after the relay connection is (re)established:
// whatever was in flight when it broke is lost.
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run processes relay lines until ctx is done or the transport's line
// channel closes, then waits for every conversation to finish its current
// step, so no write is cut in half.
func (e *Engine) Run(ctx context.Context) error {
	// Conversations stop when the read loop does, whether ctx was
	// cancelled or the transport closed its line channel.
	convCtx, stopConvs := context.WithCancel(ctx)
	defer stopConvs()
	e.mu.Lock()
	e.ctx = convCtx
	e.started = e.cfg.Now()
	e.mu.Unlock()
	if e.cfg.Agents != nil {
		now := e.cfg.Now().UTC()
		sctx, cancel := e.storeCtx()
		err := e.cfg.Agents.UpsertAgent(sctx, store.Agent{
			SelfID: e.self, Name: e.cfg.Name, Namespace: e.cfg.Namespace,
			SignPub:         base64.StdEncoding.EncodeToString(e.cfg.Identity.SignPub()),
			KxPub:           base64.StdEncoding.EncodeToString(e.cfg.Identity.KxPub()),
			SoftwareVersion: e.cfg.Version, StartedAt: now, LastSeenAt: now,
		})
		cancel()
		e.storeResult("upsert_agent", err)
	}
	e.ensureRoles()
	e.seedKnown()
	e.log.Info("agent started", "name", e.cfg.Name, "trust_mode", e.cfg.Policy.Mode(), "secure", e.cfg.Secure,
		"exchange_limit", e.cfg.ExchangeLimit, "state_timeout", e.cfg.StateTimeout)
	loopCtx, cancel := context.WithCancel(ctx)
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); e.announceLoop(loopCtx) }()
	go func() { defer loops.Done(); e.pruneHSNoncesLoop(loopCtx) }()
	e.readLoop(ctx)
	cancel()
	loops.Wait()
	e.mu.Lock()
	e.ctx = nil // no new conversations
	e.mu.Unlock()
	stopConvs()
	e.wg.Wait()
	e.log.Info("agent stopped")
	return nil
}

// readLoop decodes relay lines and dispatches them.
func (e *Engine) readLoop(ctx context.Context) {
	lines := e.cfg.Transport.Lines()
	lim := wire.Limits{MaxLine: e.cfg.MaxLine}
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			e.handleLine(line, lim)
		}
	}
}

func (e *Engine) handleLine(line []byte, lim wire.Limits) {
	// The relay broadcasts every pair's traffic to everyone. A line for us
	// names our ID or holds a null (register's to: null); skipping the
	// rest unparsed saves most of the decoding in a large fleet. A sender
	// that \u-escapes our ID only gets its own line dropped.
	if !bytes.Contains(line, e.selfBytes) && !bytes.Contains(line, nullToken) {
		e.m.RejectedLines.WithLabelValues("not_for_us").Inc()
		return
	}
	in, err := wire.Decode(line, lim)
	if err != nil {
		reason := lineErrorReason(err)
		e.m.RejectedLines.WithLabelValues(reason).Inc()
		e.log.Debug("line dropped", "reason", reason, "error", err, "bytes", len(line))
		return
	}
	if in.Kind == wire.KindText {
		e.m.RejectedLines.WithLabelValues("text").Inc()
		if strings.HasPrefix(in.Text, "Warning:") {
			e.log.Warn("relay warning", "text", truncate(in.Text, 200))
		}
		return
	}
	msg, err := protocol.ParseMsg(in.Payload, in.RemoteAddr, e.self)
	if err != nil {
		switch {
		case errors.Is(err, protocol.ErrNotForUs):
			e.m.RejectedLines.WithLabelValues("not_for_us").Inc()
		case errors.Is(err, protocol.ErrBadFrom):
			e.m.RejectedLines.WithLabelValues("bad_from").Inc()
			e.log.Debug("payload dropped: from is not an agent ID", "error", err, "remote_addr", in.RemoteAddr)
		default:
			e.m.RejectedLines.WithLabelValues("not_hsagent").Inc()
			e.log.Debug("payload dropped by the receive hook", "error", err, "remote_addr", in.RemoteAddr)
		}
		return
	}
	if !e.cfg.Policy.Admit(msg.From) {
		// Agents of another fleet on the same relay never start a
		// conversation with us.
		e.m.RejectedLines.WithLabelValues("unknown_agent").Inc()
		return
	}
	role, ok := protocol.RoleFor(msg.Intent)
	if !ok {
		e.m.RejectedLines.WithLabelValues("unknown_intent").Inc()
		return
	}
	e.m.Messages.WithLabelValues("in", string(msg.Intent)).Inc()
	msg.Received = e.cfg.Now()
	c, reason := e.startConversation(role, msg.From)
	if c == nil {
		e.m.RejectedLines.WithLabelValues(reason).Inc()
		return
	}
	select {
	case c.inbox <- msg:
	default:
		// The conversation is behind (slow database); the peer re-sends.
		e.m.RejectedLines.WithLabelValues("inbox_full").Inc()
	}
}

// conversation returns the (role, peer) conversation, starting it on first
// use; nil when the peer limit or the sender budget refuses it, or the
// engine is stopping.
func (e *Engine) conversation(role protocol.Role, peer string) *conv {
	c, _ := e.startConversation(role, peer)
	return c
}

// startConversation is conversation with the rejected_lines_total reason
// when it returns nil.
func (e *Engine) startConversation(role protocol.Role, peer string) (*conv, string) {
	k := convKey{role, peer}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.convs[k]; ok {
		return c, ""
	}
	if e.ctx == nil || len(e.convs) >= 2*e.cfg.MaxPeers {
		return nil, "too_many_peers"
	}
	stranger := !e.budget.isKnown(peer)
	if stranger && !e.budget.admit(e.cfg.Now()) {
		return nil, ReasonSenderBudget
	}
	c := newConv(e, role, peer)
	if stranger {
		c.stranger.Store(true)
		c.Mem.ExchangeCap = protocol.StrangerMaxExchanges
	}
	e.convs[k] = c
	e.m.Conversations.Inc()
	ctx := e.ctx // read under e.mu: Run clears it when stopping
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		c.run(ctx)
	}()
	return c, ""
}

// forget drops an ended conversation, so the peer's next message starts a
// new one (with a fresh row).
func (e *Engine) forget(c *conv) {
	k := convKey{c.role, c.key.PeerID}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.convs[k] == c {
		delete(e.convs, k)
		e.m.Conversations.Dec()
		c.leaveBudget()
	}
}

// announceLoop broadcasts register every RegisterInterval with ±20% jitter,
// so a fleet started together does not send in lockstep, and refreshes the
// agents row now and then.
func (e *Engine) announceLoop(ctx context.Context) {
	reg, err := e.registerLine()
	if err != nil {
		e.log.Error("encode register", "error", err)
		return
	}
	lastTouch := time.Time{}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		kicked := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kick:
			kicked = true
		}
		e.send(reg, protocol.IntentRegister)
		if kicked {
			e.kickConversations()
		}
		if now := e.cfg.Now(); e.cfg.Agents != nil && now.Sub(lastTouch) >= 30*time.Second {
			lastTouch = now
			sctx, cancel := e.storeCtx()
			e.storeResult("touch_agent", e.cfg.Agents.TouchAgent(sctx, e.self, now.UTC()))
			cancel()
		}
		if !kicked {
			t.Reset(jitter(e.cfg.RegisterInterval))
		}
	}
}

// registerLine is our register. In tofu and fleet mode it carries the
// boot proof of this process (bootproof.go), so peers give up at once the
// cycles they still run with our previous process.
func (e *Engine) registerLine() ([]byte, error) {
	p := wire.Payload{"to": nil, "intent": string(protocol.IntentRegister), "from": e.self}
	if e.cfg.Policy.Mode().Strict() {
		proof, err := protocol.BootProof(e.self, e.cfg.Identity.SignPriv, e.started)
		if err != nil {
			return nil, err
		}
		p[protocol.BootField] = proof
	}
	return wire.Encode(p)
}

func (e *Engine) kickConversations() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.convs {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// send queues one encoded line on the relay.
func (e *Engine) send(line []byte, intent protocol.Intent) {
	if err := e.cfg.Transport.Send(line); err != nil {
		e.m.SendErrors.WithLabelValues(sendErrorReason(err)).Inc()
		e.log.Debug("send failed", "intent", intent, "error", err)
		return
	}
	e.m.Messages.WithLabelValues("out", string(intent)).Inc()
}

// storeCtx bounds a store call without inheriting cancellation: shutdown
// stops new work but lets a started write complete.
func (e *Engine) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.storeTime)
}

// gatherMinActive is how many conversations must be mid-cycle before the
// group writer waits to fill a transaction: below it (two agents cycling)
// waiting would only add latency.
const gatherMinActive = 6

func (e *Engine) commitGather() time.Duration {
	if e.cfg.CommitGather < 0 || e.active.Load() < gatherMinActive {
		return 0
	}
	return e.cfg.CommitGather
}

func (e *Engine) observeBatch(steps int, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	e.m.CommitSteps.WithLabelValues(result).Observe(float64(steps))
	e.storeResult("apply_steps", err)
}

func (e *Engine) storeResult(op string, err error) {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		// A missing row (the operator deleted a peer) is an answer from a
		// working database, not an outage: readiness stays up.
		if e.storeFailed.Swap(false) {
			e.log.Info("store available again", "op", op)
		}
		e.lastStoreOK.Store(e.cfg.Now().UnixNano())
		if err != nil {
			e.m.StoreErrors.WithLabelValues(op).Inc()
		}
		return
	}
	// Counted every time, logged on the change only: the conversation
	// whose step failed logs its own line (one owner per log line).
	e.m.StoreErrors.WithLabelValues(op).Inc()
	if !e.storeFailed.Swap(true) {
		e.log.Warn("store unavailable", "op", op, "error", err)
	}
}

func jitter(d time.Duration) time.Duration {
	return d*8/10 + time.Duration(rand.Int64N(int64(d)*4/10+1))
}

func lineErrorReason(err error) string {
	switch {
	case errors.Is(err, wire.ErrTooLong):
		return "too_long"
	case errors.Is(err, wire.ErrTooDeep):
		return "too_deep"
	case errors.Is(err, wire.ErrNotRelayed):
		return "not_relayed"
	case errors.Is(err, wire.ErrBadContent):
		return "bad_content"
	}
	return "malformed"
}

func sendErrorReason(err error) string {
	switch {
	case errors.Is(err, relay.ErrQueueFull):
		return "queue_full"
	case errors.Is(err, relay.ErrClosed):
		return "closed"
	}
	return "other"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

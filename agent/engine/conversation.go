package engine

import (
	"context"
	"crypto/ecdh"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/wire"
)

// maxConflictRetries bounds re-evaluation after a lost compare-and-set: only
// a second process with our identity can cause one.
const maxConflictRetries = 3

// conv is one (role, peer) conversation. Only its goroutine touches row,
// mem and stored, which is what makes the read-modify-write race-free.
type conv struct {
	e     *Engine
	key   store.Key
	role  protocol.Role
	log   *slog.Logger
	inbox chan protocol.Msg
	kick  chan struct{}

	stored store.RoleState // last row read or written, with its Version
	protocol.Conversation
	dl      deadlines
	retries int // re-sends since the last progress, for backoff
	// cycleSteps counts the saved steps since the conversation was last
	// in its ready state: what a state timeout throws away.
	cycleSteps int
	active     bool // counted in the active gauge
	nonces     *nonceCache
	// gone: the pair's row was deleted (the operator removed the peer);
	// the conversation ends and the next message re-creates it.
	gone bool

	// Cycle slots (responder only): holdsSlot while a cycle runs; queued
	// while waiting for one, with the start message to replay.
	wake      chan struct{}
	holdsSlot bool
	queued    bool
	queuedAt  time.Time // when queued became true (see expireQueue)
	pending   *protocol.Msg

	// holdsStart (initiator only): this pair counts against the start
	// gate, from its reconnect (or an accepted confirm) to the cycle's end.
	holdsStart   bool
	waitingStart bool // counted in the gate's waiting pairs

	// stranger: the peer had completed no cycle with us when the
	// conversation started; it holds one of the sender budget's places
	// until the first completed cycle or its end (budget.go).
	stranger atomic.Bool
	// slotStranger: the held cycle slot counts against the strangers'
	// share (guarded by the slots' mutex).
	slotStranger bool
	// strangerPause: no responder cycle for this stranger before it.
	strangerPause  time.Time
	strangerStarts int // responder starts seen while a stranger

	// cycled: the pair completed a cycle (its row's count, or in this
	// process); fresh pairs get released slots first (slotorder.go).
	cycled atomic.Bool
}

func newConv(e *Engine, role protocol.Role, peer string) *conv {
	return &conv{
		e:      e,
		key:    store.Key{SelfID: e.self, Role: store.Role(role), PeerID: peer},
		role:   role,
		log:    e.log.With("role", string(role), "peer_id", peer),
		inbox:  make(chan protocol.Msg, e.cfg.InboxSize),
		kick:   make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
		nonces: newNonceCache(),
		dl:     deadlines{timeout: e.cfg.StateTimeout},
	}
}

func (c *conv) run(ctx context.Context) {
	defer c.setActive(false)
	defer c.dropSlot()
	if !c.load(ctx) {
		return
	}
	if c.gone {
		c.e.forget(c)
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.arm(timer)
		select {
		case <-ctx.Done():
			return
		case msg := <-c.inbox:
			now := c.e.cfg.Now()
			if c.stale(msg, now) {
				break
			}
			if protocol.WaitsForPeer(c.Row) && c.dl.stateDue(now) {
				// The state already timed out (the timer lost the race
				// with the inbox): recover first, so no work continues a
				// conversation the peer has given up on.
				c.onTimer()
				if c.gone {
					break
				}
			}
			c.handle(msg)
		case <-c.wake:
			c.queued, c.holdsSlot = false, true
			if m := c.pending; m != nil {
				c.pending = nil
				c.handle(*m)
			}
		case <-c.kick:
			c.step("retry", func(row protocol.Row, mem protocol.Mem, env protocol.Env) (protocol.Result, error) {
				return c.e.machine.Retry(row, mem, env), nil
			})
		case <-timer.C:
			c.expireQueue(c.e.cfg.Now())
			if !protocol.WaitsForPeer(c.Row) {
				if c.evictIfIdle() {
					return
				}
				break
			}
			c.onTimer()
		}
		c.syncSlot()
		if c.gone {
			c.e.forget(c)
			return
		}
	}
}

// load reads (or creates) the row, retrying while the database is down,
// and applies the start-up fix-ups.
func (c *conv) load(ctx context.Context) bool {
	backoff := 100 * time.Millisecond
	for {
		rs, err := c.firstRow()
		if err == nil {
			c.stored, c.Row = rs, rowFromStore(rs)
			c.cycled.Store(rs.Cycles > 0)
			// A row never written since its creation has an empty pair
			// log, so the RAM mirror is complete from the start (no
			// nonce reads in the first cycle). The step's record-once in
			// the database stays the authority either way.
			c.nonces.complete = rs.Version == 1
			break
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	now := c.e.cfg.Now()
	c.dl = newDeadlines(c.e.cfg.StateTimeout, now)
	if c.role == protocol.Responder {
		// A boot proof older than this load cannot concern a cycle of
		// this process (bootproof.go).
		c.Mem.CycleStart = now
	}
	c.resume()
	if c.role == protocol.Responder && c.Row.State != protocol.StateRespReady {
		c.Mem.Inherited = true
	}
	if c.role == protocol.Responder {
		// What the row holds was saved by the previous process: a peer
		// that booted after that save cannot finish it (bootRestarts).
		// The load time alone stalled a roll of every agent at once for a
		// state timeout: each peer booted just before the others loaded.
		c.Mem.InheritedSavedAt = loadedSaveTime(c.stored.UpdatedAt, now)
	}
	// Whatever was in flight died with the previous process: re-send now.
	c.dl.retry = now
	c.setActive(protocol.WaitsForPeer(c.Row))
	if c.role == protocol.Responder && c.Row.State != protocol.StateRespReady {
		c.e.slots.take()
		c.holdsSlot = true
	}
	return true
}

// firstRow is the row ensureRoles read at start, else the database's
// (created when missing).
func (c *conv) firstRow() (store.RoleState, error) {
	if rs, ok := c.e.takePreloaded(convKey{c.role, c.key.PeerID}); ok {
		return rs, nil
	}
	sctx, cancel := c.e.storeCtx()
	defer cancel()
	rs, err := c.e.cfg.Store.GetOrCreate(sctx, c.key, string(protocol.DefaultState(c.role)))
	c.e.storeResult("get_or_create", err)
	return rs, err
}

// arm sets the timer to the next retry or the state deadline, whichever
// comes first, measured on the injected clock; idle states have only the
// idle-eviction timer.
func (c *conv) arm(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	now := c.e.cfg.Now()
	var next time.Time
	switch {
	case protocol.WaitsForPeer(c.Row):
		next = c.dl.next()
	case c.evictable():
		next = c.dl.idleSince().Add(c.idleEvictAfter())
	}
	if c.queued {
		if q := c.queuedAt.Add(c.e.cfg.StateTimeout); next.IsZero() || q.Before(next) {
			next = q
		}
	}
	if !next.IsZero() {
		t.Reset(max(next.Sub(now), 0))
	}
}

// expireQueue gives up a wait for a cycle slot that lasted a state timeout
// (issue 12 item 5): invented IDs cannot hold queue places forever. An
// honest peer re-sends its register or reconnect and queues again.
func (c *conv) expireQueue(now time.Time) {
	if !c.queued || now.Before(c.queuedAt.Add(c.e.cfg.StateTimeout)) {
		return
	}
	c.leaveQueue()
	c.pending = nil
	c.e.m.ignored(protocol.ReasonSlotWaitExpired)
	c.log.Debug("cycle slot wait expired", "state", c.Row.State)
}

// leaveQueue drops c from the slot queue; a slot handed over in the
// meantime is kept (syncSlot or dropSlot gives it back).
func (c *conv) leaveQueue() {
	c.e.slots.forget(c)
	c.queued = false
	select {
	case <-c.wake:
		c.holdsSlot = true
	default:
	}
}

func (c *conv) onTimer() {
	now := c.e.cfg.Now()
	if c.dl.stateDue(now) {
		if c.queued {
			// The wait is ours (for a cycle slot), not the peer's: keep
			// the reconnect reference the queued start will need.
			c.dl.rewait(now)
			return
		}
		state := c.Row.State
		c.e.m.Timeouts.WithLabelValues(string(state)).Inc()
		if c.role == protocol.Responder {
			// resp_ready runs no cycle and holds no slot: its wait for
			// the reconnect lapses when the initiator's gate held it back,
			// which says nothing about our load (it used to halve the
			// slots: at 100 agents there is about one such lapse per
			// cycle, docs/engine-scale.md).
			if state != protocol.StateRespReady {
				c.e.slots.adapt(-1, c.e.cfg.StateTimeout, now)
			}
		} else {
			c.e.starts.adapt(-1, c.e.cfg.StateTimeout, now)
			c.endStart() // the re-sent reconnect must be admitted again
		}
		c.log.Warn("state timeout; recovering", "state", state, "timeout", c.e.cfg.StateTimeout)
		lost := c.cycleSteps
		err := c.step("timeout", func(row protocol.Row, mem protocol.Mem, env protocol.Env) (protocol.Result, error) {
			return c.e.machine.Timeout(row, mem, env), nil
		})
		if err == nil && c.Row.State.Ready() && lost > 0 {
			c.e.m.StepsDiscarded.Add(float64(lost))
		}
		switch {
		case err != nil && !c.gone:
			c.backOff(now)
		case c.dl.stateDue(now):
			// A timeout that keeps the state (an unanswered reconnect)
			// starts a new wait; the retry backoff is left to grow.
			c.dl.rewait(now)
		}
		return
	}
	if !now.Before(c.dl.retry) {
		// Next retry from now, even when this one sends nothing, so an
		// idle wait cannot spin.
		c.retries++
		c.dl.retry = now.Add(c.retryDelay())
		c.step("retry", func(row protocol.Row, mem protocol.Mem, env protocol.Env) (protocol.Result, error) {
			return c.e.machine.Retry(row, mem, env), nil
		})
	}
}

func (c *conv) handle(msg protocol.Msg) {
	c.dl.input = c.e.cfg.Now()
	if c.queued && c.Row.State == protocol.StateRespReady && (msg.Intent == protocol.IntentRegister || msg.Intent == protocol.IntentReconnect) {
		// Still waiting for a slot: keep the latest start, but never let
		// a periodic register displace the reconnect that resumes a pair.
		if c.pending == nil || msg.Intent == protocol.IntentReconnect || c.pending.Intent == protocol.IntentRegister {
			c.pending = &msg
		}
		return
	}
	if c.startsCycle(msg) && !c.holdsSlot {
		if c.strangerSlotWait(c.e.cfg.Now()) {
			return
		}
	}
	if c.startsCycle(msg) && !c.holdsSlot {
		if c.queued || !c.e.slots.acquire(c) {
			if !c.queued {
				c.queuedAt = c.e.cfg.Now()
			}
			c.queued, c.pending = true, &msg
			return
		}
		c.holdsSlot = true
	}
	c.step(string(msg.Intent), func(row protocol.Row, mem protocol.Mem, env protocol.Env) (protocol.Result, error) {
		return c.e.machine.OnMessage(row, mem, msg, env)
	})
}

// startsCycle reports whether msg would start a responder cycle.
func (c *conv) startsCycle(msg protocol.Msg) bool {
	return c.role == protocol.Responder && c.e.machine.StartsCycle(c.Row, c.Mem, msg, c.e.cfg.Now())
}

// resume fixes up the row just loaded: a cycle with a binding peer that
// the previous process left mid-way is given up at once (ResumeBinding),
// the rest as the reference would (Resume).
func (c *conv) resume() {
	from := c.Row.State
	if !from.ValidFor(c.role) {
		// Not a state this code wrote (hand-edited, or another role's):
		// start the pair over rather than fail every step on it.
		c.e.m.InvalidStates.WithLabelValues(string(c.role)).Inc()
		c.log.Warn("stored state is not valid for the role; row reset", "state", from)
		c.commit(c.e.machine.Resume(c.role, c.Row, c.Mem))
		return
	}
	if c.e.cfg.Policy.RequiresBind(c.key.PeerID) {
		err := c.step("resume", func(row protocol.Row, mem protocol.Mem, env protocol.Env) (protocol.Result, error) {
			return c.e.machine.ResumeBinding(c.role, row, mem, env)
		})
		if err == nil && c.Row.State != from {
			c.log.Info("conversation resumed after restart", "state", from, "to", c.Row.State)
		}
		return
	}
	res := c.e.machine.Resume(c.role, c.Row, c.Mem)
	if res.Write {
		c.log.Info("conversation resumed after restart", "state", from, "to", res.Row.State)
		c.commit(res)
	}
}

// syncSlot gives the slot back once the responder is idle again.
func (c *conv) syncSlot() {
	if c.holdsSlot && c.Row.State == protocol.StateRespReady {
		c.holdsSlot = false
		c.e.slots.release(c)
		if c.stranger.Load() {
			// The cycle ended without completing (a completed one made
			// the peer known): see strangerSlotWait.
			c.strangerPause = c.e.cfg.Now().Add(c.e.cfg.StateTimeout)
		}
	}
}

func (c *conv) dropSlot() {
	c.endStart()
	c.setWaitingStart(false)
	if c.queued {
		c.leaveQueue()
	}
	if c.holdsSlot {
		c.holdsSlot = false
		c.e.slots.release(c)
	}
}

// backOff delays the next attempt of a timeout whose step could not be
// saved: left alone, the passed deadline would fire again at once and spin
// on the database (tens of thousands of calls a second during an outage).
// The wait grows like the retry backoff, capped at the state timeout.
func (c *conv) backOff(now time.Time) {
	c.retries++
	c.dl.backOff(now, min(c.retryDelay(), c.e.cfg.StateTimeout))
}

// step evaluates one input and commits its result. A lost compare-and-set
// reloads the row and evaluates the input again against it. It returns nil
// when the result was saved or the input ignored, else why it was not: a
// rejected replay, or a store failure (after which the row is unchanged).
func (c *conv) step(what string, eval func(protocol.Row, protocol.Mem, protocol.Env) (protocol.Result, error)) error {
	for attempt := 0; ; attempt++ {
		env := &storeEnv{c: c}
		res, err := eval(c.Row, c.Mem, env)
		if err != nil {
			c.log.Warn("step failed", "input", what, "state", c.Row.State, "error", err)
			return err
		}
		if res.Ignored != "" {
			res.Apply(&c.Conversation, c.nonces)
			c.e.m.ignored(res.Ignored)
			c.logNotes(res.Notes)
			if res.Rejected {
				c.log.Warn("message rejected", "intent", what, "state", c.Row.State, "reason", res.Ignored)
			} else {
				c.log.Debug("message ignored", "intent", what, "state", c.Row.State, "reason", res.Ignored)
			}
			return nil
		}
		err = c.commit(res)
		if err == nil {
			return nil
		}
		if errors.Is(err, store.ErrReplay) {
			// Another delivery of this message was saved first (the RAM
			// nonce mirror cannot see other processes' writes).
			c.e.m.ignored(protocol.ReasonReplay)
			c.log.Warn("message rejected", "intent", what, "state", c.Row.State, "reason", protocol.ReasonReplay)
			return err
		}
		if errors.Is(err, store.ErrNotFound) {
			// Retrying cannot bring the row back; a new message from the
			// peer starts over from a fresh row.
			c.gone = true
			c.e.m.PairsGone.WithLabelValues(string(c.role)).Inc()
			c.log.Info("pair state deleted; conversation ended", "input", what, "state", c.Row.State)
			return err
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= maxConflictRetries {
			c.log.Warn("state change not saved; the peer's retry will redo it", "input", what, "state", c.Row.State, "error", err)
			return err
		}
		if err := c.reload(); err != nil {
			return err
		}
	}
}

func (c *conv) reload() error {
	sctx, cancel := c.e.storeCtx()
	defer cancel()
	rs, err := c.e.cfg.Store.GetOrCreate(sctx, c.key, string(protocol.DefaultState(c.role)))
	c.e.storeResult("get_or_create", err)
	if err != nil {
		return err
	}
	c.stored, c.Row = rs, rowFromStore(rs)
	return nil
}

// commit saves the row (compare-and-set), then logs nonces, counts the
// cycle and sends. A received nonce is logged with the row in one atomic
// store call (see save) or after it, so a lost update never leaves a nonce
// marked as seen for a step that did not happen.
func (c *conv) commit(res protocol.Result) error {
	prevState := c.Row.State
	now := c.e.cfg.Now()
	cycles, err := c.save(res, now)
	if err != nil {
		return err
	}
	prevMem := c.Mem
	res.Apply(&c.Conversation, c.nonces)
	if res.Write {
		c.cycleSteps++
	}
	if c.Row.State.Ready() {
		c.cycleSteps = 0
	}
	if res.Progress || c.Row.State != prevState {
		c.dl.progressed(now)
		c.retries = 0
	}
	c.logNotes(res.Notes)
	if prevState != c.Row.State {
		c.log.Debug("state change", "from", prevState, "to", c.Row.State)
	}
	if res.MarkBinds {
		// Tofu: a peer that sent a verified bind must keep binding
		// (plan §2.5); no-op in the other modes.
		c.e.cfg.Policy.MarkBinds(c.key.PeerID)
	}
	if res.CycleDone {
		c.cycled.Store(true)
		c.cycleDone(prevMem.CycleStart, now, cycles, res.Verified)
		c.e.budget.markKnown(c.key.PeerID)
		c.leaveBudget()
	}
	outs, pause := res.Out, time.Duration(0)
	if res.CycleDone && c.role == protocol.Initiator && c.e.cfg.CycleInterval > 0 {
		// Close now; reconnect (the next cycle) once the interval is
		// over, from the retry timer, which also repeats the close.
		outs, pause = withoutIntent(outs, protocol.IntentReconnect), c.e.cfg.CycleInterval
		c.dl.pause(now, pause)
	}
	if c.role == protocol.Initiator {
		outs = c.admit(res, prevState, prevMem, outs, now)
	}
	if res.Restart != "" {
		c.e.m.CyclesRestarted.WithLabelValues(string(c.role), res.Restart).Inc()
	}
	if len(outs) > 0 || c.Row.State != prevState {
		c.sendAll(outs)
		c.dl.retry = now.Add(max(c.retryDelay(), pause))
	}
	c.setActive(protocol.WaitsForPeer(c.Row))
	return nil
}

// retryDelay doubles with each unanswered re-send (up to 16x), so an
// overloaded peer or relay is not buried under duplicates; the state
// timeout still bounds the wait.
func (c *conv) retryDelay() time.Duration {
	return c.e.cfg.RetryInterval << min(c.retries, 4)
}

// cycleDone reports a cycle whose count (total) is saved.
func (c *conv) cycleDone(started, now time.Time, total int64, verified bool) {
	c.e.m.Cycles.WithLabelValues(string(c.role), strconv.FormatBool(verified)).Inc()
	if !started.IsZero() {
		c.e.m.CycleSeconds.WithLabelValues(string(c.role)).Observe(now.Sub(started).Seconds())
		if c.role == protocol.Responder {
			c.e.slots.adapt(now.Sub(started), c.e.cfg.StateTimeout, now)
		}
	}
	c.log.Debug("cycle completed", "cycles", total, "verified", verified)
	if c.e.cfg.OnCycle != nil {
		c.e.cfg.OnCycle(CycleEvent{SelfID: c.e.self, PeerID: c.key.PeerID, Role: c.role,
			Started: started, Completed: now, Total: total, Verified: verified})
	}
}

func (c *conv) sendAll(outs []protocol.Out) {
	now := c.e.cfg.Now().UTC()
	for _, o := range outs {
		p, err := protocol.Render(o, c.e.self, c.key.PeerID, c.Mem, c.e.cfg.Identity, protocol.RenderOpts{Seal: c.e.cfg.Secure, NoBinding: c.e.cfg.DisableBinding}, now)
		if err == nil {
			var line []byte
			if line, err = wire.Encode(p); err == nil {
				c.e.send(line, o.Intent)
				c.log.Debug("send", "intent", o.Intent, "state", c.Row.State, "my_nonce", o.MyNonce,
					"exchange_count", c.Row.ExchangeCount)
				continue
			}
		}
		c.e.m.SendErrors.WithLabelValues("render").Inc()
		c.log.Error("render message", "intent", o.Intent, "error", err)
	}
}

// logNotes writes the reference's log lines as structured records.
func (c *conv) logNotes(notes []protocol.Note) {
	for _, n := range notes {
		level := slog.LevelDebug
		switch n.Msg {
		case "CLOSE SUCCESS", protocol.NoteTombstoneFinish:
			level = slog.LevelInfo
		case "handshake verify failed", "decrypt/verify failed", "finalize gave up",
			"exchange cap reached; cycle given up":
			level = slog.LevelWarn
		}
		c.log.Log(context.Background(), level, n.Msg, n.Attrs...)
	}
}

func (c *conv) setActive(active bool) {
	if active == c.active {
		return
	}
	c.active = active
	if active {
		c.e.m.Active.Inc()
		c.e.active.Add(1)
	} else {
		c.e.m.Active.Dec()
		c.e.active.Add(-1)
	}
}

// storeEnv is the machine's Env for one conversation step.
type storeEnv struct{ c *conv }

func (s *storeEnv) lookup(flow string) func(context.Context, string) (bool, error) {
	return func(_ context.Context, nonce string) (bool, error) {
		if found, known := s.c.nonces.lookup(flow, nonce); known {
			return found, nil
		}
		sctx, cancel := s.c.e.storeCtx()
		defer cancel()
		ok, err := s.c.e.cfg.Store.NonceExists(sctx, s.c.key, flow, nonce)
		s.c.e.storeResult("nonce_exists", err)
		return ok, err
	}
}

func (s *storeEnv) ReceivedBefore(n string) (bool, error) {
	return s.lookup(protocol.FlowReceived)(context.Background(), n)
}

func (s *storeEnv) SentBefore(n string) (bool, error) {
	return s.lookup(protocol.FlowSent)(context.Background(), n)
}

// hsSeen answers whether an hs nonce was received this cycle. Whether it
// was verified in an earlier cycle (the hs flow) is checked where it
// counts, in the transaction that saves the step (see save): that costs
// no read of its own and also sees other processes' writes.
func (s *storeEnv) hsSeen(ctx context.Context, nonce string) (bool, error) {
	return s.lookup(protocol.FlowReceived)(ctx, nonce)
}

func (s *storeEnv) VerifyHS(raw any, chk protocol.HSCheck) (*protocol.Session, error) {
	sess, err := protocol.VerifyHandshake(context.Background(), raw, chk.Type, chk.Nonce, chk.Kx, chk.Pinned, s.c.key.PeerID,
		s.c.e.cfg.Policy, s.hsSeen, s.c.e.cfg.Now().UTC(), chk.NotBefore)
	if err != nil {
		s.c.e.m.Handshakes.WithLabelValues("failed", hsFailureReason(err)).Inc()
		return nil, err
	}
	// Counted "ok" when its step is saved (save): the hs replay check is
	// in that transaction.
	return sess, nil
}

func (s *storeEnv) OpenSec(raw any, sess *protocol.Session) (map[string]any, error) {
	return protocol.OpenSec(raw, sess)
}
func (s *storeEnv) NewNonce() string                        { return crypto.NewNonce() }
func (s *storeEnv) NewRef() string                          { return crypto.NewReference() }
func (s *storeEnv) NewEphemeral() (*ecdh.PrivateKey, error) { return protocol.NewEphemeral() }
func (s *storeEnv) Now() time.Time                          { return s.c.e.cfg.Now() }
func (s *storeEnv) Pair() (string, string)                  { return s.c.e.self, s.c.key.PeerID }
func (s *storeEnv) RequiresBind() bool                      { return s.c.e.cfg.Policy.RequiresBind(s.c.key.PeerID) }
func (s *storeEnv) VerifyBoot(raw any, pinned string) (time.Time, error) {
	return protocol.VerifyBootProof(raw, s.c.key.PeerID, pinned, s.c.e.cfg.Policy)
}

func withoutIntent(outs []protocol.Out, intent protocol.Intent) []protocol.Out {
	kept := make([]protocol.Out, 0, len(outs))
	for _, o := range outs {
		if o.Intent != intent {
			kept = append(kept, o)
		}
	}
	return kept
}

// loadedSaveTime is Mem.InheritedSavedAt of a responder row loaded from
// the database: its last save (by the previous process), or now when the
// row has no usable save time (never saved, or stamped in our future).
func loadedSaveTime(savedAt, now time.Time) time.Time {
	if savedAt.IsZero() || savedAt.After(now) {
		return now
	}
	return savedAt
}

package engine

import (
	"context"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// ReasonSenderBudget labels rejected_lines_total for a line from an
// unknown sender dropped by the sender budget.
const ReasonSenderBudget = "sender_budget"

// senderBudget bounds what peers that never completed a cycle with us
// ("strangers": in open or tofu mode, anyone can invent an agent ID) may
// cost (issue 12 item 5, docs/integrity-plan.md §5). A stranger's line
// that would start a conversation needs a token from a global bucket
// (see newSenderBudget)
// and a free place among the stranger conversations (a quarter of the
// conversation table). Over budget the line is dropped before any
// goroutine, database row or key exists. Known peers (a completed cycle
// in this process) are never charged, so invented IDs cannot lock them
// out. In fleet mode Policy.Admit already drops non-members and every
// sender is known.
type senderBudget struct {
	mu       sync.Mutex
	off      bool // fleet mode: Policy.Admit lets only bundle members in
	tokens   float64
	capacity float64
	per      time.Duration // the refill period for capacity tokens
	last     time.Time
	live     int // stranger conversations running
	maxLive  int
	known    map[string]struct{}
	maxKnown int
}

func newSenderBudget(cfg Config, fleet bool) *senderBudget {
	// MaxActiveCycles, or a sixteenth of MaxPeers when more, per state
	// timeout: 256 per 10 s with the defaults, so a fleet in open or tofu
	// mode still meets its new peers in seconds.
	n := float64(max(1, cfg.MaxActiveCycles, cfg.MaxPeers/16))
	return &senderBudget{
		off:      fleet,
		tokens:   n,
		capacity: n,
		per:      cfg.StateTimeout,
		maxLive:  max(1, cfg.MaxPeers/2), // a quarter of the 2 x MaxPeers table
		known:    map[string]struct{}{},
		maxKnown: cfg.MaxPeers,
	}
}

// isKnown reports whether peer completed a cycle with us (always true in
// fleet mode).
func (b *senderBudget) isKnown(peer string) bool {
	if b.off {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.known[peer]
	return ok
}

// markKnown records a completed cycle with peer. The set is bounded by
// MaxPeers; past it peers stay strangers (charged, not locked out).
func (b *senderBudget) markKnown(peer string) {
	if b.off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.known) < b.maxKnown {
		b.known[peer] = struct{}{}
	}
}

// admit charges one new stranger conversation: false when the bucket is
// empty or the stranger conversations are at their bound.
func (b *senderBudget) admit(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.per > 0 && !b.last.IsZero() {
		b.tokens = min(b.capacity, b.tokens+b.capacity*float64(now.Sub(b.last))/float64(b.per))
	}
	b.last = now
	if b.tokens < 1 || b.live >= b.maxLive {
		return false
	}
	b.tokens--
	b.live++
	return true
}

// done gives back a stranger conversation's place (it ended, or its peer
// became known).
func (b *senderBudget) done() {
	b.mu.Lock()
	b.live = max(0, b.live-1)
	b.mu.Unlock()
}

// Strangers is the number of running conversations with peers that never
// completed a cycle.
func (b *senderBudget) Strangers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.live
}

// strangerSlotWait reports whether c must not start a responder cycle now
// (false: go on). A stranger's first start is dropped (see below). A
// stranger is never queued for a cycle slot: when the
// strangers' share of slots is taken its start is dropped, and the peer
// re-sends it (an honest peer's register or confirm retry). After a cycle
// it did not complete it waits one state timeout, so a peer that holds a
// slot without progress (a slot hog) yields it to other newcomers.
func (c *conv) strangerSlotWait(now time.Time) bool {
	if !c.stranger.Load() {
		return false
	}
	c.strangerStarts++
	if c.strangerStarts == 1 {
		// Invented IDs send one register each; an honest peer re-sends
		// its register every RegisterInterval (the reference: every
		// tick). Only a second start gets a slot, a key and a confirm.
		c.e.m.ignored(protocol.ReasonStrangerFirst)
		return true
	}
	if now.Before(c.strangerPause) {
		c.e.m.ignored(protocol.ReasonStrangerPaused)
		return true
	}
	if !c.e.slots.acquire(c) {
		c.e.m.ignored(protocol.ReasonStrangerSlots)
		return true
	}
	c.holdsSlot = true
	return false
}

// leaveBudget gives c's stranger place back (once).
func (c *conv) leaveBudget() {
	if c.stranger.CompareAndSwap(true, false) {
		c.Mem.ExchangeCap = 0
		c.e.budget.done()
	}
}

// peerLister is the part of *store.Store that seedKnown needs; stores
// without it (test doubles) start with no known peers.
type peerLister interface {
	List(ctx context.Context, selfID string) ([]store.RoleState, error)
}

// seedKnown marks the peers whose rows count a cycle as known, so a
// restarted agent does not charge its own fleet to the sender budget, and
// resumes at once every conversation the previous process left waiting
// for a binding peer (resumeAtStart).
func (e *Engine) seedKnown() {
	l, ok := e.cfg.Store.(peerLister)
	if !ok {
		return
	}
	ctx, cancel := e.storeCtx()
	defer cancel()
	rows, err := l.List(ctx, e.self)
	if err != nil {
		e.log.Warn("known peers not read; they start as strangers", "error", err)
		return
	}
	for _, r := range rows {
		if r.Cycles > 0 && !e.budget.off {
			e.budget.markKnown(r.Key.PeerID)
		}
	}
	e.resumeAtStart(rows)
}

// resumeAtStart starts every conversation whose row the previous process
// left waiting for the peer. With a binding peer the cycle died with that
// process (ResumeBinding): a responder sends a new confirm now, instead of
// when the peer's next re-send happens to arrive (its retries have backed
// off while we were down). With any other peer the row goes on (Resume),
// and some rows only we can move: an initiator in init_ready holding the
// peer's reference must send reconnect, and a Python responder holding
// ours answers nothing else and sends nothing our initiator would receive,
// so without this the pair never cycled again (stall 3 of docs/interop.md,
// seen as a KNOWN-STALL in mixed-fleet-faults after the SIGKILL).
func (e *Engine) resumeAtStart(rows []store.RoleState) {
	var waiting []convKey
	e.mu.Lock()
	for _, r := range rows {
		role := protocol.Role(r.Key.Role)
		if protocol.RoleOfState(protocol.State(r.State)) != role || !protocol.WaitsForPeer(rowFromStore(r)) {
			continue
		}
		k := convKey{role, r.Key.PeerID}
		if _, ok := e.preloaded[k]; !ok {
			// The row just listed is the conversation's first load
			// (takePreloaded): no second read per conversation.
			if e.preloaded == nil {
				e.preloaded = map[convKey]store.RoleState{}
			}
			e.preloaded[k] = r
		}
		waiting = append(waiting, k)
	}
	e.mu.Unlock()
	for _, k := range waiting {
		e.conversation(k.role, k.peer)
	}
}

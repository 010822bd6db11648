package engine

import (
	"context"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// idleEvictFactor × StateTimeout without a message or progress ends an
// idle conversation, so peer IDs invented in open or tofu mode cannot hold
// the --max-peers slots forever. The row stays: the peer's next message
// starts a new conversation that reads it back.
const idleEvictFactor = 6

func (c *conv) idleEvictAfter() time.Duration {
	if c.stranger.Load() {
		// A peer that never completed a cycle keeps no goroutine past
		// one idle state timeout (the sender budget's places).
		return c.e.cfg.StateTimeout
	}
	return idleEvictFactor * c.e.cfg.StateTimeout
}

// idleSince is the later of the last progress and the last message.
func (c *conv) idleSince() time.Time { return c.dl.idleSince() }

// evictable: nothing in this conversation needs its goroutine. A ready
// state with no reference to resume (WaitsForPeer false) has no timer
// duty; a responder holding or queued for a cycle slot must give it back
// through the normal path first.
func (c *conv) evictable() bool {
	return !protocol.WaitsForPeer(c.Row) && !c.queued && !c.holdsSlot && c.pending == nil
}

// evictIfIdle ends the conversation when it has been idle long enough and
// no message is waiting for it; true when the caller must return.
func (c *conv) evictIfIdle() bool {
	if !c.evictable() || c.e.cfg.Now().Before(c.idleSince().Add(c.idleEvictAfter())) {
		return false
	}
	stranger := c.stranger.Load() // forgetIdle gives the place back
	if !c.e.forgetIdle(c) {
		return false
	}
	c.e.m.IdleEvicted.WithLabelValues(string(c.role)).Inc()
	c.log.Debug("idle conversation evicted", "state", c.Row.State, "idle_for", c.e.cfg.Now().Sub(c.idleSince()))
	if stranger && c.stored.Cycles == 0 {
		c.collectRow()
	}
	return true
}

// rowCollector is the part of *store.Store that collectRow needs; stores
// without it keep the rows.
type rowCollector interface {
	DeleteUnusedRole(ctx context.Context, k store.Key, version int64) (bool, error)
}

// collectRow deletes the evicted stranger's row (no cycle counted, not
// written since we read it), so invented IDs leave no rows behind (issue
// 12 item 5). A new conversation for the peer that raced it re-creates
// the row or, having read it just before, ends as for a deleted pair.
func (c *conv) collectRow() {
	gc, ok := c.e.cfg.Store.(rowCollector)
	if !ok {
		return
	}
	ctx, cancel := c.e.storeCtx()
	defer cancel()
	gone, err := gc.DeleteUnusedRole(ctx, c.key, c.stored.Version)
	c.e.storeResult("delete_unused_role", err)
	if gone {
		c.e.m.RowsCollected.WithLabelValues(string(c.role)).Inc()
		c.e.unpinUnused(c.key.PeerID)
	}
}

// unpinUnused forgets a collected peer's TOFU pin unless a conversation
// with it is live in either role: the pin map would otherwise keep every
// invented ID that ever verified an hs. The row's peer_sign_pub stays the
// durable pin of a peer that keeps a row.
func (e *Engine) unpinUnused(peer string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, role := range []protocol.Role{protocol.Initiator, protocol.Responder} {
		if _, live := e.convs[convKey{role, peer}]; live {
			return
		}
	}
	e.cfg.Policy.Unpin(peer)
}

// forgetIdle drops c from the conversation map if its inbox is empty. A
// line the read loop routed to c just before this is lost; the peer
// re-sends it as it would any lost line.
func (e *Engine) forgetIdle(c *conv) bool {
	k := convKey{c.role, c.key.PeerID}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.convs[k] != c || len(c.inbox) > 0 {
		return false
	}
	delete(e.convs, k)
	e.m.Conversations.Dec()
	c.leaveBudget()
	return true
}

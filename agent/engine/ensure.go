package engine

import (
	"context"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// ensureRolesTimeout bounds the start-up EnsureRoles: one statement per
// 1,000 peers, so it gets longer than a single step's store call.
const ensureRolesTimeout = 3 * storeOpTimeout

// ensureRoles creates at start, in one statement per 1,000 peers, the
// rows of every peer of the fleet bundle, and keeps them for the
// conversations' first loads: a 100-agent fleet's start then costs 100
// commits instead of one GetOrCreate per conversation (19,800). Only fleet
// mode has a peer list; tofu and open learn peers from the relay. On a
// failure the conversations create their own rows (GetOrCreate), as they
// do for peers added to the bundle later.
func (e *Engine) ensureRoles() {
	if e.cfg.Policy.Mode() != trust.Fleet {
		return
	}
	bundle := e.cfg.Policy.Bundle()
	peers := make([]string, 0, len(bundle))
	for id := range bundle {
		if id != e.self {
			peers = append(peers, id)
		}
	}
	if len(peers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ensureRolesTimeout)
	defer cancel()
	res, err := e.cfg.Store.EnsureRoles(ctx, e.self, peers,
		store.RoleDefaults{Initiator: string(protocol.DefaultState(protocol.Initiator)), Responder: string(protocol.DefaultState(protocol.Responder))})
	e.storeResult("ensure_roles", err)
	if err != nil {
		e.log.Warn("rows not created at start; each conversation creates its own", "peers", len(peers), "error", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.preloaded = make(map[convKey]store.RoleState, len(res.Rows))
	for _, rs := range res.Rows {
		e.preloaded[convKey{protocol.Role(rs.Key.Role), rs.Key.PeerID}] = rs
	}
	e.log.Debug("rows ensured at start", "peers", len(peers), "created", res.Created, "rejected", len(res.Rejected))
}

// takePreloaded hands a conversation's first load the row ensureRoles
// read, once: a later load (a reload after a conflict, a conversation
// started again after eviction) reads the database.
func (e *Engine) takePreloaded(k convKey) (store.RoleState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs, ok := e.preloaded[k]
	if ok {
		delete(e.preloaded, k)
	}
	return rs, ok
}

package relay

import (
	"slices"
	"sync"
	"sync/atomic"
)

// hub is the set of connected clients. Broadcasters read an immutable
// snapshot through an atomic pointer, so the hot path takes no lock; joins
// and leaves (rare) copy the slice under mu.
type hub struct {
	mu       sync.Mutex
	snapshot atomic.Pointer[[]*conn]
	closing  bool

	routeMu   sync.RWMutex
	byID      map[string]*route          // directed routing: client id -> its claimants
	contested func()                     // called when an id gets a second claimant (metric)
	announce  func(id string, here bool) // a proven id gained or lost its owner here (cluster presence)
}

// route is one id's directed-routing entry. Every connection claims at
// most one id (conn.routeID); owner is the connection lines to the id go
// to, nil once it left. Without authentication a second claimant makes the
// id contested: lines to it are broadcast until every claimant has left,
// so a squatter cannot take an agent's directed traffic, only cost it the
// optimisation. With authentication only proven connections claim, and the
// newest proof owns the id.
type route struct {
	owner     *conn
	claimants int
	proven    bool
}

func newHub() *hub {
	h := &hub{byID: map[string]*route{}, contested: func() {}, announce: func(string, bool) {}}
	h.snapshot.Store(&[]*conn{})
	return h
}

func (h *hub) conns() []*conn { return *h.snapshot.Load() }

// add registers c unless the hub is closing or full (limit 0 = no cap).
func (h *hub) add(c *conn, limit int) (ok bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.conns()
	if h.closing {
		return false, reasonShutdown
	}
	if limit > 0 && len(cur) >= limit {
		return false, reasonFull
	}
	next := make([]*conn, len(cur), len(cur)+1)
	copy(next, cur)
	next = append(next, c)
	h.snapshot.Store(&next)
	return true, ""
}

// remove unregisters c and forgets its routing id.
func (h *hub) remove(c *conn) {
	h.mu.Lock()
	cur := h.conns()
	if i := slices.Index(cur, c); i >= 0 {
		next := make([]*conn, 0, len(cur)-1)
		next = append(next, cur[:i]...)
		next = append(next, cur[i+1:]...)
		h.snapshot.Store(&next)
	}
	h.mu.Unlock()
	h.unclaim(c)
}

// unclaim drops c's claim on its routing id. Called on c's reader
// goroutine, the only writer of c.routeID.
func (h *hub) unclaim(c *conn) {
	id := c.routeID
	if id == "" {
		return
	}
	h.routeMu.Lock()
	defer h.routeMu.Unlock()
	c.routeID = ""
	r := h.byID[id]
	if r == nil {
		return
	}
	if r.owner == c {
		r.owner = nil
		if r.proven {
			h.announce(id, false)
		}
	}
	if r.claimants--; r.claimants <= 0 {
		delete(h.byID, id)
	}
}

// close marks the hub closing and returns the clients still connected.
func (h *hub) close() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closing = true
	return h.conns()
}

// learn records an unauthenticated claim of id by c, one id per
// connection, the first one it sends. It is called from c's own reader
// goroutine; routeMu guards c.routeID.
func (h *hub) learn(c *conn, id []byte) {
	if c.routeID != "" || len(id) == 0 || len(id) > maxRouteID {
		return
	}
	h.routeMu.Lock()
	defer h.routeMu.Unlock()
	if c.routeID != "" {
		return
	}
	c.routeID = string(id)
	r := h.byID[c.routeID]
	if r == nil {
		h.byID[c.routeID] = &route{owner: c, claimants: 1}
		return
	}
	r.claimants++
	if r.claimants == 2 && !r.proven {
		h.contested()
	}
}

// bind records that c proved id: it owns the id from now on. Any earlier
// claim of c is dropped first.
func (h *hub) bind(c *conn, id string) {
	h.unclaim(c)
	h.routeMu.Lock()
	defer h.routeMu.Unlock()
	c.routeID = id
	r := h.byID[id]
	if r == nil {
		r = &route{}
		h.byID[id] = r
	}
	r.owner, r.proven = c, true
	r.claimants++
	h.announce(id, true)
}

// provenHere lists the ids proven by a connection here now.
func (h *hub) provenHere() []string {
	h.routeMu.RLock()
	defer h.routeMu.RUnlock()
	var ids []string
	for id, r := range h.byID {
		if r.proven && r.owner != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// lookup returns the connection directed lines to id go to, or nil to
// broadcast: unknown, left, or contested without proof.
func (h *hub) lookup(id []byte) *conn {
	h.routeMu.RLock()
	defer h.routeMu.RUnlock()
	r := h.byID[string(id)]
	if r == nil || (!r.proven && r.claimants > 1) {
		return nil
	}
	return r.owner
}

// maxRouteID bounds learned ids so a client cannot grow the table with huge
// keys; agent ids are 36-character UUIDs.
const maxRouteID = 128

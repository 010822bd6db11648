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

	routeMu sync.RWMutex
	byID    map[string]*conn // directed routing: client id -> connection
}

func newHub() *hub {
	h := &hub{byID: map[string]*conn{}}
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
	if id := c.routeID; id != "" {
		h.routeMu.Lock()
		if h.byID[id] == c {
			delete(h.byID, id)
		}
		h.routeMu.Unlock()
	}
}

// close marks the hub closing and returns the clients still connected.
func (h *hub) close() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closing = true
	return h.conns()
}

// learn binds id to c, first come first served, one id per connection. It
// is called from c's own reader goroutine, which alone writes c.routeID.
func (h *hub) learn(c *conn, id []byte) {
	if c.routeID != "" || len(id) == 0 || len(id) > maxRouteID {
		return
	}
	h.routeMu.Lock()
	defer h.routeMu.Unlock()
	if _, taken := h.byID[string(id)]; taken {
		return
	}
	c.routeID = string(id)
	h.byID[c.routeID] = c
}

// lookup returns the connection bound to id, or nil.
func (h *hub) lookup(id []byte) *conn {
	h.routeMu.RLock()
	c := h.byID[string(id)]
	h.routeMu.RUnlock()
	return c
}

// maxRouteID bounds learned ids so a client cannot grow the table with huge
// keys; agent ids are 36-character UUIDs.
const maxRouteID = 128

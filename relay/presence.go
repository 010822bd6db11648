package relay

import (
	"sync"
	"time"
)

// presence is what this replica knows of the proven agent IDs connected to
// the other replicas: per ID, the replicas holding it and when each last
// said so. A set per ID, not one owner, so an agent moving from replica A
// to B is not forgotten when A's "gone" arrives after B's "here". Entries a
// replica stops re-announcing (it died) expire after ttl.
type presence struct {
	mu   sync.RWMutex
	byID map[string]map[string]time.Time // id -> replica -> last heard
	ttl  time.Duration
	max  int    // bound on IDs
	full func() // an announce was ignored: the table is at its bound
}

// Peers feed the table; bound it anyway. An ID left out is only
// broadcast, as an unproven one is.
const (
	maxPresenceIDs        = 1 << 18
	maxPresenceReplicasID = 16
)

func newPresence(ttl time.Duration) *presence {
	return &presence{byID: map[string]map[string]time.Time{}, ttl: ttl, max: maxPresenceIDs, full: func() {}}
}

// here records that replica holds ids as of now.
func (p *presence) here(replica []byte, ids [][]byte, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		set := p.byID[string(id)]
		if set == nil {
			if len(p.byID) >= p.max {
				p.full()
				continue
			}
			set = map[string]time.Time{}
			p.byID[string(id)] = set
		}
		if _, ok := set[string(replica)]; !ok && len(set) >= maxPresenceReplicasID {
			p.full()
			continue
		}
		set[string(replica)] = now
	}
}

// gone records that ids left replica.
func (p *presence) gone(replica []byte, ids [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		set := p.byID[string(id)]
		delete(set, string(replica))
		if len(set) == 0 {
			delete(p.byID, string(id))
		}
	}
}

// sweep forgets what replicas have not re-announced within ttl.
func (p *presence) sweep(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, set := range p.byID {
		for r, at := range set {
			if now.Sub(at) > p.ttl {
				delete(set, r)
			}
		}
		if len(set) == 0 {
			delete(p.byID, id)
		}
	}
}

// elsewhere reports whether id is proven on another replica. On the hot
// path: no allocation, no clock read (sweep expires entries).
func (p *presence) elsewhere(id []byte) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byID[string(id)]) > 0
}

func (p *presence) size() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byID)
}

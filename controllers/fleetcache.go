package controllers

import (
	"cmp"
	"context"
	"hash/fnv"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// fleetCache keeps one database's role_state aggregates in memory so that
// each poll reads only what changed (store.FleetRows) instead of every row:
// rows cycled or inserted within the last two polls' window (re-reading
// overlapping rows is harmless: a row replaces its entry, it is not added),
// whole rows for agents it has not loaded, and a rotating 1/resyncSlices
// share of agents in full, which bounds how long a deleted row or a change
// that moves neither last_cycle_at nor the id (hs_derived_at set without a
// cycle) stays unseen: resyncSlices polls.
//
// At 1,000 agents in a full mesh it holds a million peers, so each agent's
// peers are one slice of 48-byte values sorted by interned peer ID (binary
// search), not a map: the heap profile of the 1,000-agent benchmark had
// the former map-based cache (agent/store.FleetCache, removed) at 115 MiB of 152 MiB live.
type fleetCache struct {
	// clockSkew widens the last_cycle_at window: agents stamp it with their
	// own clocks and commit after stamping.
	clockSkew    time.Duration
	resyncSlices int

	mu     sync.Mutex
	peers  map[string]uint32 // interned peer IDs: one string per peer, not per row
	agents map[string][]fleetPeer
	marks  []fleetMark // the last two successful polls, oldest first
	polls  uint64
}

type fleetMark struct {
	start time.Time
	maxID int64
}

// fleetPeer is one peer's two conversations (initiator 0, responder 1).
type fleetPeer struct {
	cycles   [2]int64
	last     [2]int64  // UnixMicro (PostgreSQL's precision); 0: never cycled
	verified [2]uint32 // cycles authenticated end to end, saturating: 48 bytes an entry, not 56
	pid      uint32
	flags    uint8 // has0, has1, lastVerified0, lastVerified1
}

const (
	flagHas          = 1 // << role
	flagLastVerified = 4 // << role: that role's last cycle was a verified one (the mesh view's "#")
)

// lastVerified reports flagLastVerified for role i.
func (p *fleetPeer) lastVerified(i int) bool { return p.flags&(flagLastVerified<<i) != 0 }

func newFleetCache() *fleetCache {
	return &fleetCache{clockSkew: time.Minute, resyncSlices: 20, peers: map[string]uint32{}, agents: map[string][]fleetPeer{}}
}

// Poll reads what changed for the asked agents with one FleetRows
// statement and returns their summaries, equal to store.FleetSummary's for
// that snapshot up to the resync bound above. start is the poll's clock
// reading. Agents not asked are forgotten. Peers in hidden (departed
// agents, fleetcache_hide.go) are left out of every summary and sample but
// stay cached, so a peer that comes back is counted again at once.
func (c *fleetCache) Poll(ctx context.Context, s *store.Store, agents []store.FleetQuery, sampleRows int, start time.Time, hidden map[string]bool) (map[string]store.FleetAgentSummary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := store.FleetRowsQuery{SampleRows: sampleRows, ExcludePeers: c.excludedPeers(hidden)}
	asked := make(map[string]bool, len(agents))
	for _, a := range agents {
		asked[a.SelfID] = true
		_, loaded := c.agents[a.SelfID]
		if !loaded || len(c.marks) == 0 || c.inResyncSlice(a.SelfID) {
			q.Full = append(q.Full, a)
		} else {
			q.Delta = append(q.Delta, a)
		}
	}
	if len(c.marks) > 0 {
		q.CycledSince = c.marks[0].start.Add(-c.clockSkew)
		q.AfterID = c.marks[0].maxID
	}
	// Full agents' rows are appended (one entry per row) to fresh slices,
	// merged and swapped in only when the statement completed: a failed
	// poll leaves the cache as it was. Delta rows update in place.
	fresh := make(map[string][]fleetPeer, len(q.Full))
	for _, a := range q.Full {
		fresh[a.SelfID] = nil
	}
	res, err := s.FleetRows(ctx, q, func(r store.FleetRow) {
		if rows, ok := fresh[r.SelfID]; ok {
			fresh[r.SelfID] = append(rows, c.entry(r))
			return
		}
		if rows, ok := c.agents[r.SelfID]; ok {
			c.agents[r.SelfID] = upsert(rows, c.entry(r))
		}
	})
	if err != nil {
		// Delta rows applied before the failure are newer values, not
		// increments; the window does not move, so the next poll re-reads it.
		return nil, err
	}
	c.polls++
	for id := range c.agents {
		if !asked[id] {
			delete(c.agents, id)
		}
	}
	for id, rows := range fresh {
		c.agents[id] = merge(rows)
	}
	c.marks = append(c.marks, fleetMark{start: start, maxID: res.MaxID})
	if len(c.marks) > 2 {
		c.marks = c.marks[1:]
	}
	skip := c.hiddenPeers(hidden) // after the read: it may have named them first
	out := make(map[string]store.FleetAgentSummary, len(agents))
	for _, a := range agents {
		sum := summarize(a, c.agents[a.SelfID], skip)
		sum.Sample = visibleSample(res.Samples[a.SelfID], hidden, sampleRows)
		out[a.SelfID] = sum
	}
	return out, nil
}

// inResyncSlice spreads full re-reads over resyncSlices polls by agent.
func (c *fleetCache) inResyncSlice(selfID string) bool {
	if c.resyncSlices <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(selfID))
	return uint64(h.Sum32())%uint64(c.resyncSlices) == c.polls%uint64(c.resyncSlices)
}

// entry is one row as a peer entry holding only that row's role.
func (c *fleetCache) entry(r store.FleetRow) fleetPeer {
	pid, ok := c.peers[r.PeerID]
	if !ok {
		pid = uint32(len(c.peers))
		c.peers[r.PeerID] = pid
	}
	i := 1
	if r.Initiator {
		i = 0
	}
	p := fleetPeer{pid: pid, flags: flagHas << i}
	if r.LastCycleVerified {
		p.flags |= flagLastVerified << i
	}
	p.cycles[i] = r.Cycles
	p.verified[i] = uint32(min(max(r.VerifiedCycles, 0), math.MaxUint32))
	if r.LastCycleAt != nil {
		p.last[i] = r.LastCycleAt.UnixMicro()
	}
	return p
}

// set replaces p's values for the roles e holds.
func (p *fleetPeer) set(e fleetPeer) {
	for i := range 2 {
		if e.flags&(flagHas<<i) == 0 {
			continue
		}
		p.flags = p.flags&^(flagLastVerified<<i) | e.flags&(flagHas<<i|flagLastVerified<<i)
		p.cycles[i], p.last[i], p.verified[i] = e.cycles[i], e.last[i], e.verified[i]
	}
}

func comparePeer(a fleetPeer, pid uint32) int { return cmp.Compare(a.pid, pid) }

// upsert sets e in the sorted rows, inserting a new peer in order.
func upsert(rows []fleetPeer, e fleetPeer) []fleetPeer {
	i, found := slices.BinarySearchFunc(rows, e.pid, comparePeer)
	if found {
		rows[i].set(e)
		return rows
	}
	return slices.Insert(rows, i, e)
}

// merge sorts one-row entries by peer and folds each peer's roles into one
// entry, in place; the result is clipped so the spare capacity of the
// appends is released.
func merge(rows []fleetPeer) []fleetPeer {
	slices.SortFunc(rows, func(a, b fleetPeer) int { return cmp.Compare(a.pid, b.pid) })
	out := rows[:0]
	for _, e := range rows {
		if n := len(out); n > 0 && out[n-1].pid == e.pid {
			out[n-1].set(e)
			continue
		}
		out = append(out, e)
	}
	return slices.Clone(out)
}

// summarize computes what store.FleetSummary computes, from the cache,
// without the peers in skip.
func summarize(a store.FleetQuery, rows []fleetPeer, skip map[uint32]bool) store.FleetAgentSummary {
	sum := store.FleetAgentSummary{SelfID: a.SelfID}
	var last int64
	staleBefore := a.StaleBefore.UnixMicro()
	for _, p := range rows {
		if len(skip) > 0 && skip[p.pid] {
			continue
		}
		var peerLast int64
		for i := range 2 {
			if p.flags&(flagHas<<i) == 0 {
				continue
			}
			sum.Cycles += p.cycles[i]
			sum.VerifiedCycles += int64(p.verified[i])
			peerLast = max(peerLast, p.last[i])
		}
		sum.PeerCount++
		if peerLast == 0 || peerLast < staleBefore {
			sum.StalePeers++
		}
		last = max(last, peerLast)
	}
	if last != 0 {
		t := time.UnixMicro(last).UTC()
		sum.LastCycleAt = &t
	}
	return sum
}

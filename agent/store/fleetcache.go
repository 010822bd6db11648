package store

import (
	"context"
	"hash/fnv"
	"sync"
	"time"
)

// FleetCache keeps one database's role_state aggregates in memory so that
// each poll reads only what changed (FleetRows) instead of every row:
// rows cycled or inserted within the last two polls' window (re-reading
// overlapping rows is harmless: a row is stored by its key, not added),
// whole rows for agents it has not loaded, and a rotating 1/ResyncSlices
// share of agents in full, which bounds how long a deleted row or a change
// that moves neither last_cycle_at nor the id (hs_derived_at set without a
// cycle) stays unseen: ResyncSlices polls.
type FleetCache struct {
	// ClockSkew widens the last_cycle_at window: agents stamp it with their
	// own clocks and commit after stamping.
	ClockSkew    time.Duration
	ResyncSlices int

	mu     sync.Mutex
	peers  map[string]uint32 // interned peer IDs: one string per peer, not per row
	agents map[string]map[uint32]fleetPair
	marks  []fleetMark // the last two successful polls, oldest first
	polls  uint64
}

type fleetMark struct {
	start time.Time
	maxID int64
}

// fleetPair is one peer's two conversations (initiator, responder),
// stored by value in compact form: a million of these at 1,000 agents.
type fleetPair struct {
	has      [2]bool
	verified [2]bool
	cycles   [2]int64
	last     [2]int64 // UnixNano; 0: never cycled
}

// NewFleetCache returns an empty cache; its first poll reads every asked
// agent in full.
func NewFleetCache() *FleetCache {
	return &FleetCache{ClockSkew: time.Minute, ResyncSlices: 20, peers: map[string]uint32{}, agents: map[string]map[uint32]fleetPair{}}
}

// Poll reads what changed for the asked agents with one FleetRows
// statement and returns their summaries, exact as of that snapshot up to
// the resync bound above. start is the poll's clock reading. Agents not
// asked are forgotten.
func (c *FleetCache) Poll(ctx context.Context, s *Store, agents []FleetQuery, sampleRows int, start time.Time) (map[string]FleetAgentSummary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := FleetRowsQuery{SampleRows: sampleRows}
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
		q.CycledSince = c.marks[0].start.Add(-c.ClockSkew)
		q.AfterID = c.marks[0].maxID
	}
	// Rows land in fresh maps for Full agents, swapped in only when the
	// statement completed: a failed poll leaves the cache as it was.
	fresh := make(map[string]map[uint32]fleetPair, len(q.Full))
	for _, a := range q.Full {
		fresh[a.SelfID] = map[uint32]fleetPair{}
	}
	res, err := s.FleetRows(ctx, q, func(r FleetRow) {
		rows, ok := fresh[r.SelfID]
		if !ok {
			rows = c.agents[r.SelfID]
		}
		c.store(rows, r)
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
		c.agents[id] = rows
	}
	c.marks = append(c.marks, fleetMark{start: start, maxID: res.MaxID})
	if len(c.marks) > 2 {
		c.marks = c.marks[1:]
	}
	out := make(map[string]FleetAgentSummary, len(agents))
	for _, a := range agents {
		sum := c.summarize(a)
		sum.Sample = res.Samples[a.SelfID]
		out[a.SelfID] = sum
	}
	return out, nil
}

// inResyncSlice spreads full re-reads over ResyncSlices polls by agent.
func (c *FleetCache) inResyncSlice(selfID string) bool {
	if c.ResyncSlices <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(selfID))
	return uint64(h.Sum32())%uint64(c.ResyncSlices) == c.polls%uint64(c.ResyncSlices)
}

func (c *FleetCache) store(rows map[uint32]fleetPair, r FleetRow) {
	if rows == nil {
		return
	}
	pid, ok := c.peers[r.PeerID]
	if !ok {
		pid = uint32(len(c.peers))
		c.peers[r.PeerID] = pid
	}
	p := rows[pid]
	i := 1
	if r.Initiator {
		i = 0
	}
	p.has[i], p.cycles[i], p.verified[i] = true, r.Cycles, r.Verified
	p.last[i] = 0
	if r.LastCycleAt != nil {
		p.last[i] = r.LastCycleAt.UnixNano()
	}
	rows[pid] = p
}

// summarize computes what fleetSummaryQuery computes, from the cache.
func (c *FleetCache) summarize(a FleetQuery) FleetAgentSummary {
	sum := FleetAgentSummary{SelfID: a.SelfID}
	var last int64
	staleBefore := a.StaleBefore.UnixNano()
	for _, p := range c.agents[a.SelfID] {
		var peerLast int64
		for i := range 2 {
			if !p.has[i] {
				continue
			}
			sum.Cycles += p.cycles[i]
			if p.verified[i] {
				sum.VerifiedCycles += p.cycles[i]
			}
			peerLast = max(peerLast, p.last[i])
		}
		sum.PeerCount++
		if peerLast == 0 || peerLast < staleBefore {
			sum.StalePeers++
		}
		last = max(last, peerLast)
	}
	if last != 0 {
		t := time.Unix(0, last).UTC()
		sum.LastCycleAt = &t
	}
	return sum
}

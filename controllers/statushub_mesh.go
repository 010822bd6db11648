package controllers

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/store"
)

// FleetMesh reads the mesh (which directed pairs cycle) out of the status
// hub's per-database caches, which hold every conversation of every tracked
// agent, instead of the 16-peer sample in status. It is the operator's
// source for the mesh metrics and page (internal/meshop). Only the leader
// polls, so on other replicas it is empty. A nil FleetMesh is empty.
type FleetMesh struct{ hub *statusHub }

// MeshPair is one directed pair of agents of one namespace.
type MeshPair struct {
	Initiator, Responder     string // HSAgent names
	InitiatorID, ResponderID string
	Cycles                   int64     // the larger of the two sides' counts
	LastCycle                time.Time // zero: no completed cycle
	LastCycleVerified        bool      // the initiator's last cycle was authenticated end to end
	Stale                    bool      // cycled, but not within the initiator's stale window
}

// MeshNamespace is one namespace's (one fleet's) pairs in aggregate.
type MeshNamespace struct {
	Namespace string
	// Agents the hub tracks there (identity and database known).
	Agents int
	// Directed pairs among them by status; Never = Agents×(Agents−1) −
	// OK − Stale (no row, or no completed cycle).
	OK, Stale, Never int
	// Worst holds the stale pairs with the oldest last cycle first, at most
	// the limit asked.
	Worst []MeshPair
}

// meshMember is a tracked agent as the mesh sees it.
type meshMember struct {
	id         string
	key        types.NamespacedName
	staleAfter time.Duration
}

// Namespaces aggregates every namespace's pairs at now, keeping at most
// maxWorst stale pairs each. It walks the caches' rows (a million at 1,000
// agents in a full mesh: tens of milliseconds), holding each cache's lock
// while it does.
func (m *FleetMesh) Namespaces(now time.Time, maxWorst int) []MeshNamespace {
	if m == nil || m.hub == nil {
		return nil
	}
	members, caches := m.hub.meshMembers()
	byNS := map[string]*nsAccumulator{}
	for _, mem := range members {
		acc := byNS[mem.key.Namespace]
		if acc == nil {
			acc = &nsAccumulator{ns: MeshNamespace{Namespace: mem.key.Namespace}, limit: maxWorst}
			byNS[mem.key.Namespace] = acc
		}
		acc.ns.Agents++
	}
	loaded := loadedAgents(caches)
	nowMicro := now.UnixMicro()
	for _, c := range caches {
		c.walkPairs(members, loaded, nil, func(p meshRow) {
			acc := byNS[p.initiator.key.Namespace]
			switch {
			case p.last == 0:
			case nowMicro-p.last > p.initiator.staleAfter.Microseconds():
				acc.ns.Stale++
				acc.offer(p)
			default:
				acc.ns.OK++
			}
		})
	}
	out := make([]MeshNamespace, 0, len(byNS))
	for _, acc := range byNS {
		n := acc.ns
		n.Never = max(0, n.Agents*(n.Agents-1)-n.OK-n.Stale)
		worst := slices.Clone(acc.worst)
		slices.SortFunc(worst, func(a, b meshRow) int { return cmp.Compare(a.last, b.last) })
		for _, p := range worst {
			mp := p.pair()
			mp.Stale = true
			n.Worst = append(n.Worst, mp)
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b MeshNamespace) int { return cmp.Compare(a.Namespace, b.Namespace) })
	return out
}

// Pairs returns the directed pairs with a row among the named agents of a
// namespace (the page's bounded matrix), stale judged at now.
func (m *FleetMesh) Pairs(now time.Time, namespace string, names []string) []MeshPair {
	if m == nil || m.hub == nil {
		return nil
	}
	members, caches := m.hub.meshMembers()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var selves []string
	for id, mem := range members {
		if mem.key.Namespace == namespace && want[mem.key.Name] {
			selves = append(selves, id)
		} else {
			delete(members, id)
		}
	}
	loaded := loadedAgents(caches)
	var out []MeshPair
	for _, c := range caches {
		c.walkPairs(members, loaded, selves, func(p meshRow) {
			mp := p.pair()
			mp.Stale = p.last != 0 && now.UnixMicro()-p.last > p.initiator.staleAfter.Microseconds()
			out = append(out, mp)
		})
	}
	return out
}

// meshMembers copies the tracked agents (by agent ID) and the caches.
func (h *statusHub) meshMembers() (map[string]*meshMember, []*fleetCache) {
	h.mu.Lock()
	defer h.mu.Unlock()
	members := make(map[string]*meshMember, len(h.agents))
	for _, t := range h.agents {
		members[t.agentID] = &meshMember{id: t.agentID, key: t.key, staleAfter: t.staleAfter}
	}
	caches := make([]*fleetCache, 0, len(h.caches))
	for _, c := range h.caches {
		caches = append(caches, c)
	}
	return members, caches
}

// loadedAgents are the agent IDs some cache holds rows of.
func loadedAgents(caches []*fleetCache) map[string]bool {
	out := map[string]bool{}
	for _, c := range caches {
		c.mu.Lock()
		for id := range c.agents {
			out[id] = true
		}
		c.mu.Unlock()
	}
	return out
}

// meshRow is one directed pair as walkPairs reports it.
type meshRow struct {
	initiator, responder *meshMember
	cycles, last         int64 // last: UnixMicro, 0 never
	lastVerified         bool
}

func (p meshRow) pair() MeshPair {
	mp := MeshPair{Initiator: p.initiator.key.Name, Responder: p.responder.key.Name,
		InitiatorID: p.initiator.id, ResponderID: p.responder.id, Cycles: p.cycles, LastCycleVerified: p.lastVerified}
	if p.last != 0 {
		mp.LastCycle = time.UnixMicro(p.last).UTC()
	}
	return mp
}

// walkPairs reports every directed pair between two members of one
// namespace that has a row, once: from the initiator's row, or from the
// responder's row when the initiator's rows are loaded in no cache (the
// initiator's side is the one that starts and records each cycle; looking
// up the other side's entry per row made a million random reads per
// scrape at 1,000 agents). selves, when not nil, limits the walk to those
// agents' rows. Peers are resolved by their interned index, so the walk
// hashes no strings per row.
func (c *fleetCache) walkPairs(members map[string]*meshMember, loaded map[string]bool, selves []string, fn func(meshRow)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	memberOf := make([]*meshMember, len(c.peers))
	loadedOf := make([]bool, len(c.peers))
	for id, pid := range c.peers {
		memberOf[pid], loadedOf[pid] = members[id], loaded[id]
	}
	walk := func(selfID string, rows []fleetPeer) {
		self, ok := members[selfID]
		if !ok {
			return
		}
		for i := range rows {
			e := &rows[i]
			peer := memberOf[e.pid]
			if peer == nil || peer == self || peer.key.Namespace != self.key.Namespace {
				continue
			}
			if e.flags&flagHas != 0 {
				fn(meshRow{initiator: self, responder: peer, cycles: e.cycles[0], last: e.last[0], lastVerified: e.lastVerified(0)})
			}
			if e.flags&(flagHas<<1) != 0 && !loadedOf[e.pid] {
				fn(meshRow{initiator: peer, responder: self, cycles: e.cycles[1], last: e.last[1], lastVerified: e.lastVerified(1)})
			}
		}
	}
	if selves == nil {
		for id, rows := range c.agents {
			walk(id, rows)
		}
		return
	}
	for _, id := range selves {
		walk(id, c.agents[id])
	}
}

// nsAccumulator counts one namespace and keeps its oldest stale pairs in a
// max-heap by last cycle, bounded by limit.
type nsAccumulator struct {
	ns    MeshNamespace
	limit int
	worst oldestPairs
}

func (a *nsAccumulator) offer(p meshRow) {
	switch {
	case a.limit <= 0:
	case len(a.worst) < a.limit:
		heap.Push(&a.worst, p)
	case p.last < a.worst[0].last:
		a.worst[0] = p
		heap.Fix(&a.worst, 0)
	}
}

// oldestPairs is a max-heap on last: the root is the newest kept pair, the
// first to give way to an older one.
type oldestPairs []meshRow

func (h oldestPairs) Len() int           { return len(h) }
func (h oldestPairs) Less(i, j int) bool { return h[i].last > h[j].last }
func (h oldestPairs) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldestPairs) Push(x any)        { *h = append(*h, x.(meshRow)) }
func (h *oldestPairs) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// MeshMember names one agent for FleetMeshFromRows.
type MeshMember struct {
	Namespace, Name, AgentID string
	StaleAfter               time.Duration
}

// FleetMeshFromRows is a FleetMesh over conversation rows read elsewhere
// (store.FleetRows, a fixture), held in the same cache structure the
// status hub polls into; tools and tests use it.
func FleetMeshFromRows(members []MeshMember, rows []store.FleetRow) *FleetMesh {
	h := &statusHub{agents: map[types.NamespacedName]*trackedAgent{}, caches: map[[32]byte]*fleetCache{}}
	for _, m := range members {
		key := types.NamespacedName{Namespace: m.Namespace, Name: m.Name}
		h.agents[key] = &trackedAgent{key: key, agentID: m.AgentID, staleAfter: m.StaleAfter}
	}
	c := newFleetCache()
	bySelf := map[string][]fleetPeer{}
	for _, r := range rows {
		bySelf[r.SelfID] = append(bySelf[r.SelfID], c.entry(r))
	}
	for id, entries := range bySelf {
		c.agents[id] = merge(entries)
	}
	h.caches[[32]byte{}] = c
	return &FleetMesh{hub: h}
}

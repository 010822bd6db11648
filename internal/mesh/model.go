package mesh

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Row is one side of a conversation: SelfID plays Role ("initiator" or
// "responder") with PeerID. Both sides of a pair count its cycles.
type Row struct {
	SelfID, Role, PeerID string
	Cycles               int64
	LastCycle            time.Time // zero: no cycle yet
	// LastCycleVerified: the cycle at LastCycle was authenticated end to
	// end (a verified cycle, docs/protocol.md §7.4), not only completed as
	// a Python or open-mode peer completes one.
	LastCycleVerified bool
	Secure            bool // a sealed message from the peer opened
}

// Agent is one member of the fleet. Ready is nil when the source does not
// know (the database has no readiness).
type Agent struct {
	ID, Name string
	Ready    *bool
}

// Status of a pair.
type Status string

const (
	StatusOK    Status = "ok"    // a cycle within the stale window
	StatusStale Status = "stale" // cycled before, but not within the window
	StatusNever Status = "never" // no cycle yet
)

// Cell is one directed pair in the matrix.
type Cell struct {
	Cycles int64   `json:"cycles"`
	AgeSec float64 `json:"ageSec"` // seconds since the last cycle; -1: never
	// Verified is the "#" of every rendering: a verified cycle completed
	// within the stale window (VerifiedWithin).
	Verified bool   `json:"verified"`
	Secure   bool   `json:"secure"` // sealed messages opened (also from an unverified peer)
	Status   Status `json:"status"`
}

// VerifiedWithin is the one rule behind a pair's "#" for every source
// (database, HSAgent status, the operator's cache, the demo): the pair's
// last cycle completed within the stale window (StatusOK) and was a
// verified one. A cycle a Python or open-mode peer completes counts as a
// cycle, never as "#"; so does a cycle of a verified pair that was not
// authenticated (a downgrade).
func VerifiedWithin(status Status, lastCycleVerified bool) bool {
	return status == StatusOK && lastCycleVerified
}

// AgentView is an agent with its totals as the page's panel shows them.
type AgentView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Ready   *bool  `json:"ready"`
	Cycles  int64  `json:"cycles"`  // as initiator and responder
	Stalled int    `json:"stalled"` // pairs it is part of that are not ok
}

// PairRef names a pair of the matrix by agent index.
type PairRef struct {
	Initiator int `json:"i"`
	Responder int `json:"r"`
}

// View is the rendered-ready matrix: Cells[i][r] is initiator i to
// responder r (nil on the diagonal).
type View struct {
	At         time.Time     `json:"at"`
	StaleAfter float64       `json:"staleAfterSec"`
	Agents     []AgentView   `json:"agents"`
	Cells      [][]*Cell     `json:"cells"`
	Worst      []PairRef     `json:"worst"` // every pair, worst first
	Stalled    int           `json:"stalled"`
	Truncated  bool          `json:"truncated"` // the source capped its rows
	staleAfter time.Duration // the window as given
}

// Data is what a source read: agents and both sides' conversation rows.
type Data struct {
	Agents    []Agent
	Rows      []Row
	Truncated bool // the source capped its rows
}

// Build merges rows into a View at time now. Pairs with no cycle within
// staleAfter are stale. Agents seen only in rows are added by ID. Rows
// with an unknown role or a self-pair are ignored.
func Build(now time.Time, staleAfter time.Duration, d Data) *View {
	agents, rows := d.Agents, d.Rows
	index := map[string]int{}
	var all []Agent
	add := func(a Agent) {
		if _, ok := index[a.ID]; !ok && a.ID != "" {
			index[a.ID] = len(all)
			all = append(all, a)
		}
	}
	for _, a := range agents {
		add(a)
	}
	for _, r := range rows {
		add(Agent{ID: r.SelfID})
		add(Agent{ID: r.PeerID})
	}
	for i := range all {
		if all[i].Name == "" {
			all[i].Name = shortID(all[i].ID)
		}
	}
	slices.SortStableFunc(all, func(a, b Agent) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	for i, a := range all {
		index[a.ID] = i
	}
	v := &View{At: now, StaleAfter: staleAfter.Seconds(), staleAfter: staleAfter, Truncated: d.Truncated,
		Agents: make([]AgentView, len(all)), Cells: make([][]*Cell, len(all))}
	for i, a := range all {
		v.Agents[i] = AgentView{ID: a.ID, Name: a.Name, Ready: a.Ready}
		v.Cells[i] = make([]*Cell, len(all))
	}
	last := make(map[PairRef]lastCycle)
	for _, r := range rows {
		self, peer := index[r.SelfID], index[r.PeerID]
		var p PairRef
		switch r.Role {
		case "initiator":
			p = PairRef{self, peer}
		case "responder":
			p = PairRef{peer, self}
		default:
			continue
		}
		if p.Initiator == p.Responder {
			continue
		}
		c := v.Cells[p.Initiator][p.Responder]
		if c == nil {
			c = &Cell{}
			v.Cells[p.Initiator][p.Responder] = c
		}
		c.Cycles = max(c.Cycles, r.Cycles)
		c.Secure = c.Secure || r.Secure || r.LastCycleVerified // a verified cycle opened a sealed message
		last[p] = last[p].merge(r)
	}
	v.finish(last)
	return v
}

// lastCycle is a pair's latest cycle over both sides' rows.
type lastCycle struct {
	at       time.Time
	verified bool
}

// merge keeps the later of the two; at the same instant either side's
// verified mark counts (both sides stamp the one cycle).
func (l lastCycle) merge(r Row) lastCycle {
	switch {
	case r.LastCycle.After(l.at):
		return lastCycle{r.LastCycle, r.LastCycleVerified}
	case r.LastCycle.Equal(l.at):
		l.verified = l.verified || r.LastCycleVerified
	}
	return l
}

// finish fills every off-diagonal cell's status and the totals.
func (v *View) finish(last map[PairRef]lastCycle) {
	for i := range v.Cells {
		for r := range v.Cells[i] {
			if i == r {
				continue
			}
			c := v.Cells[i][r]
			if c == nil {
				c = &Cell{}
				v.Cells[i][r] = c
			}
			p := PairRef{i, r}
			l, ok := last[p]
			switch {
			case !ok || l.at.IsZero():
				c.Status, c.AgeSec = StatusNever, -1
			default:
				age := max(v.At.Sub(l.at), 0)
				c.AgeSec = age.Seconds()
				c.Status = StatusOK
				if age > v.staleAfter {
					c.Status = StatusStale
				}
			}
			c.Verified = VerifiedWithin(c.Status, l.verified)
			v.Agents[i].Cycles += c.Cycles
			v.Agents[r].Cycles += c.Cycles
			if c.Status != StatusOK {
				v.Stalled++
				v.Agents[i].Stalled++
				v.Agents[r].Stalled++
			}
			v.Worst = append(v.Worst, p)
		}
	}
	slices.SortStableFunc(v.Worst, func(a, b PairRef) int { return worse(v.Cell(a), v.Cell(b)) })
}

// Window is the stale window (also for a View decoded from JSON).
func (v *View) Window() time.Duration {
	return time.Duration(v.StaleAfter * float64(time.Second)).Round(time.Millisecond)
}

// Check reports whether a View decoded from untrusted JSON is consistent:
// a square matrix over the agents, nil only on the diagonal, and pair
// references inside it.
func (v *View) Check() error {
	n := len(v.Agents)
	if len(v.Cells) != n {
		return fmt.Errorf("mesh: %d rows for %d agents", len(v.Cells), n)
	}
	for i, row := range v.Cells {
		if len(row) != n {
			return fmt.Errorf("mesh: row %d has %d cells for %d agents", i, len(row), n)
		}
		for r, c := range row {
			if (c == nil) != (i == r) {
				return fmt.Errorf("mesh: cell %d->%d: want a cell off the diagonal only", i, r)
			}
		}
	}
	for _, p := range v.Worst {
		if p.Initiator < 0 || p.Initiator >= n || p.Responder < 0 || p.Responder >= n || p.Initiator == p.Responder {
			return fmt.Errorf("mesh: pair %d->%d out of range", p.Initiator, p.Responder)
		}
	}
	return nil
}

// Cell returns the pair's cell.
func (v *View) Cell(p PairRef) *Cell { return v.Cells[p.Initiator][p.Responder] }

// worse orders stale (oldest first), then never, then ok pairs (oldest
// last cycle first, then fewest cycles, then unverified).
func worse(a, b *Cell) int {
	rank := func(c *Cell) int {
		switch c.Status {
		case StatusStale:
			return 0
		case StatusNever:
			return 1
		}
		return 2
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(b.AgeSec, a.AgeSec),
		cmp.Compare(a.Cycles, b.Cycles), cmpBool(a.Verified, b.Verified))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

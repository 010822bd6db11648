package controllers

import "github.com/hsfleet/hsfleet/agent/store"

// hiddenPeers maps hidden agent IDs to their interned peer indexes; an ID
// no row of this database ever named is not a peer here.
func (c *fleetCache) hiddenPeers(hidden map[string]bool) map[uint32]bool {
	if len(hidden) == 0 {
		return nil
	}
	skip := map[uint32]bool{}
	for id := range hidden {
		if pid, ok := c.peers[id]; ok {
			skip[pid] = true
		}
	}
	return skip
}

// excludedPeers are the hidden IDs the sample query leaves out: those this
// cache has seen as peers (all of them before its first poll), at most
// store.MaxFleetExcludePeers. A hidden ID past the bound is still dropped
// by visibleSample, at the cost of a shorter sample.
func (c *fleetCache) excludedPeers(hidden map[string]bool) []string {
	var out []string
	for id := range hidden {
		if len(out) == store.MaxFleetExcludePeers {
			break
		}
		if _, seen := c.peers[id]; seen || c.polls == 0 {
			out = append(out, id)
		}
	}
	return out
}

// visibleSample drops hidden peers' rows and keeps at most n.
func visibleSample(rows []store.PeerSummary, hidden map[string]bool, n int) []store.PeerSummary {
	if len(hidden) > 0 {
		out := make([]store.PeerSummary, 0, min(len(rows), n))
		for _, r := range rows {
			if !hidden[r.PeerID] {
				out = append(out, r)
			}
		}
		rows = out
	}
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

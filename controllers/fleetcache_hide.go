package controllers

import "github.com/hsfleet/hsfleet/agent/store"

// maxHiddenSampleRows bounds the extra sample rows read per agent so that
// departed peers sorting first do not shorten the status sample: two rows
// (both roles) per hidden peer, at most this many. With more departed peers
// among an agent's first conversations its sample shows fewer entries
// until their rows are gone.
const maxHiddenSampleRows = 16

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

// hiddenCount is how many hidden IDs may be in a sample: those this cache
// has seen as peers, or all of them before its first poll.
func (c *fleetCache) hiddenCount(hidden map[string]bool) int {
	if c.polls == 0 {
		return len(hidden)
	}
	n := 0
	for id := range hidden {
		if _, ok := c.peers[id]; ok {
			n++
		}
	}
	return n
}

// sampleQueryRows is how many sample rows to read per agent: the sample
// plus room for the hidden peers' rows that visibleSample drops.
func sampleQueryRows(sampleRows, hiddenPeers int) int {
	if sampleRows == 0 {
		return 0
	}
	extra := min(2*hiddenPeers, maxHiddenSampleRows, store.MaxFleetSampleRows-sampleRows)
	return sampleRows + max(extra, 0)
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

package mesh

import (
	"context"
	"fmt"

	"github.com/hsfleet/hsfleet/agent/store"
)

// ReadStores reads every store's mesh view (the demo keeps one database
// per agent; a fleet shares one) and merges them. Agents keep the first
// name any store gives them.
func ReadStores(ctx context.Context, limit int, stores ...*store.Store) (Data, error) {
	var d Data
	for _, st := range stores {
		mv, err := st.MeshView(ctx, limit)
		if err != nil {
			return Data{}, fmt.Errorf("mesh: %w", err)
		}
		d.Truncated = d.Truncated || mv.Truncated
		for _, a := range mv.Agents {
			d.Agents = append(d.Agents, Agent{ID: a.SelfID, Name: a.Name})
		}
		for _, r := range mv.Rows {
			row := Row{SelfID: r.SelfID, Role: r.Role, PeerID: r.PeerID, Cycles: r.Cycles,
				LastCycleVerified: r.LastCycleVerified(), Secure: r.LastSecureAt != nil}
			if r.LastCycleAt != nil {
				row.LastCycle = *r.LastCycleAt
			}
			d.Rows = append(d.Rows, row)
		}
	}
	return d, nil
}

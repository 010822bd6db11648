package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MaxMeshRows bounds MeshView's conversations whatever limit the caller
// asks for: 150 agents talking to each other are ~45k rows.
const MaxMeshRows = 50000

// MeshRow is one conversation as the fleet-wide mesh view shows it.
// HSDerivedAt is set once a peer's hs verified; LastSecureAt when a sealed
// message from the peer last opened. VerifiedCycles of Cycles were
// authenticated end to end (docs/protocol.md §7.4); LastVerifiedAt is the
// last of those, equal to LastCycleAt when the last cycle was one.
type MeshRow struct {
	SelfID, Role, PeerID, State string
	Cycles, VerifiedCycles      int64
	LastCycleAt, LastVerifiedAt *time.Time
	HSDerivedAt, LastSecureAt   *time.Time
}

// LastCycleVerified reports whether the row's last cycle was authenticated
// end to end: the engine stamps last_verified_at with the verified cycle's
// own time, so it equals last_cycle_at exactly then.
func (r MeshRow) LastCycleVerified() bool {
	return r.LastCycleAt != nil && r.LastVerifiedAt != nil && !r.LastVerifiedAt.Before(*r.LastCycleAt)
}

// MeshAgent is a registered agent (the agents table).
type MeshAgent struct {
	SelfID, Name, Namespace string
	LastSeenAt              time.Time
}

// MeshView is every agent and conversation in the database, from one
// snapshot. Truncated is true when there were more than limit rows.
type MeshView struct {
	Agents    []MeshAgent
	Rows      []MeshRow
	Truncated bool
}

const (
	meshAgentsSQL = `SELECT self_id, name, namespace, last_seen_at FROM agents ORDER BY self_id LIMIT ?`
	meshRowsSQL   = `SELECT self_id, role, peer_id, state, cycles, verified_cycles, last_cycle_at, last_verified_at,
		hs_derived_at, last_secure_at FROM role_state ORDER BY self_id, peer_id, role LIMIT ?`
)

// MeshView reads at most limit conversations and limit agents, read-only.
func (s *Store) MeshView(ctx context.Context, limit int) (v MeshView, err error) {
	defer s.observe("mesh_view", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return MeshView{}, err
	}
	if limit <= 0 {
		return MeshView{}, fmt.Errorf("%w: mesh view limit %d", ErrInvalid, limit)
	}
	limit = min(limit, MaxMeshRows)
	var opts *sql.TxOptions
	if s.dialect == DialectPostgres { // SQLite read transactions are snapshots already
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.r.BeginTxx(ctx, opts)
	if err != nil {
		return MeshView{}, fmt.Errorf("store: mesh view: begin: %w", err)
	}
	defer tx.Rollback()
	if v.Agents, err = meshAgents(ctx, tx.QueryxContext, tx.Rebind(meshAgentsSQL), limit+1); err != nil {
		return MeshView{}, err
	}
	if v.Rows, err = meshRows(ctx, tx.QueryxContext, tx.Rebind(meshRowsSQL), limit+1); err != nil {
		return MeshView{}, err
	}
	if len(v.Agents) > limit || len(v.Rows) > limit {
		v.Truncated = true
		v.Agents, v.Rows = v.Agents[:min(len(v.Agents), limit)], v.Rows[:min(len(v.Rows), limit)]
	}
	return v, nil
}

package store

import (
	"context"
)

// ensureRolesSQLiteInsert is insertRole without RETURNING: SQLite's single
// writer runs the chunk in one transaction, a statement per row (no array
// parameters), and the rows are read back in the same transaction.
const ensureRolesSQLiteInsert = `INSERT INTO role_state (self_id, role, peer_id, state, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (self_id, role, peer_id) DO NOTHING`

func (s *Store) ensureRolesSQLite(ctx context.Context, selfID string, keys []Key, d RoleDefaults) ([]RoleState, int, error) {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback() // no-op after Commit
	ins, err := tx.PreparexContext(ctx, ensureRolesSQLiteInsert)
	if err != nil {
		return nil, 0, err
	}
	defer ins.Close()
	now := s.timeArg(s.now())
	created := 0
	for _, k := range keys {
		r, err := ins.ExecContext(ctx, k.SelfID, string(k.Role), k.PeerID, d.of(k.Role), now, now)
		if err != nil {
			return nil, 0, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return nil, 0, err
		}
		created += int(n)
	}
	// All of selfID's rows, filtered to the chunk: one indexed range read.
	var all []roleRow
	if err := tx.SelectContext(ctx, &all, s.q.listRoles, selfID); err != nil {
		return nil, 0, err
	}
	want := make(map[Key]struct{}, len(keys))
	for _, k := range keys {
		want[k] = struct{}{}
	}
	rows := make([]RoleState, 0, len(keys))
	for _, r := range all {
		rs := r.toRoleState()
		if _, ok := want[rs.Key]; ok {
			rows = append(rows, rs)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, err
	}
	return rows, created, nil
}

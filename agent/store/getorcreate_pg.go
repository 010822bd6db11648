package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// getOrCreatePGQuery inserts the row unless it exists and returns it
// either way: one statement, so a fleet's start (every agent creating a
// row per peer and role) costs one transaction per conversation, not a
// read and then an insert.
const getOrCreatePGQuery = `WITH ins AS (
	INSERT INTO role_state (self_id, role, peer_id, state, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $5)
	ON CONFLICT (self_id, role, peer_id) DO NOTHING
	RETURNING ` + roleCols + `
)
SELECT ` + roleCols + ` FROM ins
UNION ALL
SELECT ` + roleCols + ` FROM role_state
WHERE self_id = $1 AND role = $2 AND peer_id = $3 AND NOT EXISTS (SELECT 1 FROM ins)`

func (s *Store) getOrCreatePG(ctx context.Context, k Key, defaultState string) (RoleState, error) {
	var row roleRow
	err := s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return w.GetContext(ctx, &row, getOrCreatePGQuery, k.SelfID, string(k.Role), k.PeerID, defaultState, s.timeArg(s.now()))
	})
	if errors.Is(err, sql.ErrNoRows) {
		// A concurrent insert committed after this statement's snapshot:
		// the insert waited for it and yielded, the read cannot see it
		// yet. A new statement does.
		return s.getRole(ctx, s.w, k)
	}
	if err != nil {
		return RoleState{}, fmt.Errorf("store: get or create %s: %w", k.label(), err)
	}
	return row.toRoleState(), nil
}

package store

import (
	"context"

	"github.com/lib/pq"
)

// ensureRolesPGQuery inserts the missing rows and returns every requested
// row in one statement: the rows it inserted (ins, created) and the ones
// that already existed in its snapshot. The insert follows the arrays'
// order (ord), which the caller sorts, so concurrent calls take the unique
// index's insert locks in one order and cannot deadlock.
const ensureRolesPGQuery = `WITH inp AS (
	SELECT t.role, t.peer_id, t.state, t.ord
	FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(role, peer_id, state, ord)
), ins AS (
	INSERT INTO role_state (self_id, role, peer_id, state, created_at, updated_at)
	SELECT $1::text, role, peer_id, state, $5::timestamptz, $5::timestamptz FROM inp ORDER BY ord
	ON CONFLICT (self_id, role, peer_id) DO NOTHING
	RETURNING ` + roleCols + `
)
SELECT ` + roleCols + `, true AS created FROM ins
UNION ALL
SELECT ` + roleCols + `, false AS created FROM role_state
WHERE self_id = $1::text AND (role, peer_id) IN (SELECT role, peer_id FROM inp)`

// ensureRolesReadPGQuery reads rows by key: the ones a concurrent insert
// committed after ensureRolesPGQuery's snapshot (the insert waited for it
// and yielded; the read could not see it yet).
const ensureRolesReadPGQuery = `SELECT ` + roleCols + ` FROM role_state
WHERE self_id = $1::text AND (role, peer_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`

// ensuredRow is a row of ensureRolesPGQuery.
type ensuredRow struct {
	roleRow
	Created bool `db:"created"`
}

func (s *Store) ensureRolesPG(ctx context.Context, selfID string, keys []Key, d RoleDefaults) ([]RoleState, int, error) {
	roles, peers, states := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		roles[i], peers[i], states[i] = string(k.Role), k.PeerID, d.of(k.Role)
	}
	var got []ensuredRow
	err := s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return s.selectBound(ctx, w, &got, ensureRolesPGQuery, selfID, pq.Array(roles), pq.Array(peers),
			pq.Array(states), s.timeArg(s.now()))
	})
	if err != nil {
		return nil, 0, err
	}
	rows := make([]RoleState, 0, len(keys))
	found := make(map[Key]struct{}, len(got))
	created := 0
	for _, r := range got {
		rs := r.toRoleState()
		rows = append(rows, rs)
		found[rs.Key] = struct{}{}
		if r.Created {
			created++
		}
	}
	if len(found) == len(keys) {
		return rows, created, nil
	}
	roles, peers = roles[:0], peers[:0]
	for _, k := range keys {
		if _, ok := found[k]; !ok {
			roles, peers = append(roles, string(k.Role)), append(peers, k.PeerID)
		}
	}
	var late []roleRow
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return s.selectBound(ctx, w, &late, ensureRolesReadPGQuery, selfID, pq.Array(roles), pq.Array(peers))
	})
	if err != nil {
		return nil, 0, err
	}
	for _, r := range late {
		rows = append(rows, r.toRoleState())
	}
	return rows, created, nil
}

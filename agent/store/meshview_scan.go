package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

type queryFunc func(ctx context.Context, query string, args ...any) (*sqlx.Rows, error)

func meshAgents(ctx context.Context, query queryFunc, q string, limit int) ([]MeshAgent, error) {
	rows, err := query(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("store: mesh view agents: %w", err)
	}
	defer rows.Close()
	var out []MeshAgent
	for rows.Next() {
		var a MeshAgent
		var seen dbTime
		if err := rows.Scan(&a.SelfID, &a.Name, &a.Namespace, &seen); err != nil {
			return nil, fmt.Errorf("store: mesh view agents: %w", err)
		}
		a.LastSeenAt = seen.Time
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: mesh view agents: %w", err)
	}
	return out, nil
}

func meshRows(ctx context.Context, query queryFunc, q string, limit int) ([]MeshRow, error) {
	rows, err := query(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("store: mesh view conversations: %w", err)
	}
	defer rows.Close()
	var out []MeshRow
	for rows.Next() {
		var r MeshRow
		var last, verified, hs, sec dbTime
		if err := rows.Scan(&r.SelfID, &r.Role, &r.PeerID, &r.State, &r.Cycles, &r.VerifiedCycles, &last, &verified, &hs, &sec); err != nil {
			return nil, fmt.Errorf("store: mesh view conversations: %w", err)
		}
		r.LastCycleAt, r.LastVerifiedAt, r.HSDerivedAt, r.LastSecureAt = last.ptr(), verified.ptr(), hs.ptr(), sec.ptr()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: mesh view conversations: %w", err)
	}
	return out, nil
}

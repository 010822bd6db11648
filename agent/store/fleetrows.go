package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// FleetRow is one role_state row as the fleet cache keeps it: what the
// aggregates need, nothing else.
type FleetRow struct {
	SelfID, PeerID string
	Initiator      bool
	Cycles         int64
	Verified       bool // hs_derived_at is set (a verified hs; the pre-bind meaning)
	// VerifiedCycles is role_state.verified_cycles: the row's cycles
	// authenticated end to end (docs/protocol.md §7.4).
	VerifiedCycles int64
	LastCycleAt    *time.Time
	// LastCycleVerified: the last cycle was authenticated end to end
	// (last_verified_at is stamped with that cycle's own time, so it equals
	// last_cycle_at). The mesh view's "#" rests on it.
	LastCycleVerified bool
}

// MaxFleetExcludePeers bounds FleetRowsQuery.ExcludePeers (one text[]
// parameter): the operator's departed and retained agents fit many times.
const MaxFleetExcludePeers = 20000

// FleetRowsQuery asks for the rows of Full agents in whole and, of Delta
// agents, only rows that may have changed: last_cycle_at at or after
// CycledSince (a cycle bump) or id above AfterID (inserted since).
// ExcludePeers are left out of every sample (not out of the rows: the
// caller's cache keeps them), so a sample holds SampleRows visible
// conversations however many excluded peers sort first.
type FleetRowsQuery struct {
	Full, Delta  []FleetQuery
	CycledSince  time.Time
	AfterID      int64
	SampleRows   int
	ExcludePeers []string
}

// FleetRowsResult is one snapshot: every asked agent's sample and the
// table's highest row id (the next AfterID); rows go to the visitor.
type FleetRowsResult struct {
	Samples map[string][]PeerSummary
	MaxID   int64
}

// fleetRowsQuery reads, in one statement (one snapshot), Full agents'
// rows, Delta agents' recently cycled rows (ix_role_state_recent: one
// short range per agent) and rows inserted after $5 (the primary key),
// then every agent's sample as in fleetSummaryQuery without the peers in
// $8 (a filter on the same uq_role_peer walk: it reads past the excluded
// rows, at most theirs more). Sample rows carry the table's max id. The
// cost follows the rows asked for, not the table.
const fleetRowsQuery = `WITH want AS (
		SELECT w.self_id, w.stale_before FROM unnest($1::text[], $2::timestamptz[]) AS w(self_id, stale_before)
	), changed AS (
		SELECT r.self_id, r.peer_id, r.role, r.cycles, r.hs_derived_at IS NOT NULL AS verified, r.verified_cycles, r.last_cycle_at,
			COALESCE(r.last_verified_at >= r.last_cycle_at, false) AS last_verified
		FROM role_state r WHERE r.self_id = ANY($3::text[])
		UNION ALL (
			SELECT r.self_id, r.peer_id, r.role, r.cycles, r.hs_derived_at IS NOT NULL, r.verified_cycles, r.last_cycle_at,
			COALESCE(r.last_verified_at >= r.last_cycle_at, false) AS last_verified
			FROM unnest($4::text[]) AS d(self_id)
			CROSS JOIN LATERAL (SELECT * FROM role_state x WHERE x.self_id = d.self_id AND x.last_cycle_at >= $5) r
			UNION
			SELECT r.self_id, r.peer_id, r.role, r.cycles, r.hs_derived_at IS NOT NULL, r.verified_cycles, r.last_cycle_at,
			COALESCE(r.last_verified_at >= r.last_cycle_at, false) AS last_verified
			FROM role_state r WHERE r.id > $6 AND r.self_id = ANY($4::text[]))
	)
	SELECT false, c.self_id, c.peer_id, c.role, c.cycles, c.verified, c.verified_cycles, c.last_cycle_at, c.last_verified, NULL::json, 0::bigint FROM changed c
	UNION ALL
	SELECT true, w.self_id, '', '', 0, false, 0, NULL, false,
		(SELECT COALESCE(json_agg(json_build_array(s.peer_id, COALESCE(a.name, ''), s.role, s.state, s.cycles,
				s.last_cycle_at, ` + sampleSecure + `, s.verified_cycles)
				ORDER BY s.peer_id, s.role), '[]')
			FROM (SELECT peer_id, role, state, cycles, last_cycle_at, hs_derived_at, last_secure_at, verified_cycles, last_verified_at
				FROM role_state WHERE self_id = w.self_id AND peer_id <> ALL($8::text[]) ORDER BY peer_id, role LIMIT $7) s
			LEFT JOIN agents a ON a.self_id = s.peer_id),
		(SELECT COALESCE(max(id), 0) FROM role_state)
	FROM want w`

// FleetRows runs fleetRowsQuery (PostgreSQL only) and hands each row to
// visit as it is read: a full load is millions of rows, never held at once.
func (s *Store) FleetRows(ctx context.Context, q FleetRowsQuery, visit func(FleetRow)) (out FleetRowsResult, err error) {
	defer s.observe("fleet_rows", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return out, err
	}
	if s.dialect != DialectPostgres {
		return out, fmt.Errorf("%w: fleet rows need PostgreSQL, not %s", ErrInvalid, s.dialect)
	}
	if n := len(q.Full) + len(q.Delta); n > MaxFleetSummaryAgents {
		return out, fmt.Errorf("%w: %d agents in one fleet query (max %d)", ErrInvalid, n, MaxFleetSummaryAgents)
	}
	if q.SampleRows < 0 || q.SampleRows > MaxFleetSampleRows {
		return out, fmt.Errorf("%w: sample of %d rows (0..%d)", ErrInvalid, q.SampleRows, MaxFleetSampleRows)
	}
	if len(q.ExcludePeers) > MaxFleetExcludePeers {
		return out, fmt.Errorf("%w: %d excluded peers (max %d)", ErrInvalid, len(q.ExcludePeers), MaxFleetExcludePeers)
	}
	for _, id := range q.ExcludePeers {
		if err := checkText("excluded peer_id", id, maxIDLen, true); err != nil {
			return out, err
		}
	}
	var all, full, delta []string
	var cutoffs []time.Time
	for i, a := range append(append([]FleetQuery(nil), q.Full...), q.Delta...) {
		if err := checkText("self_id", a.SelfID, maxIDLen, true); err != nil {
			return out, err
		}
		all, cutoffs = append(all, a.SelfID), append(cutoffs, a.StaleBefore.UTC())
		if i < len(q.Full) {
			full = append(full, a.SelfID)
		} else {
			delta = append(delta, a.SelfID)
		}
	}
	out.Samples = make(map[string][]PeerSummary, len(all))
	if len(all) == 0 {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, fleetRowsQuery, pq.Array(all), pq.Array(cutoffs), pq.Array(full), pq.Array(delta),
		q.CycledSince.UTC(), q.AfterID, q.SampleRows, pq.Array(nonNil(q.ExcludePeers)))
	if err != nil {
		return out, fmt.Errorf("store: fleet rows of %d agents: %w", len(all), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			isSample bool
			r        FleetRow
			role     string
			last     dbTime
			sample   []byte
			maxID    int64
		)
		if err := rows.Scan(&isSample, &r.SelfID, &r.PeerID, &role, &r.Cycles, &r.Verified, &r.VerifiedCycles, &last, &r.LastCycleVerified, &sample, &maxID); err != nil {
			return out, fmt.Errorf("store: fleet rows: %w", err)
		}
		if isSample {
			if out.Samples[r.SelfID], err = decodeFleetSample(sample, q.SampleRows); err != nil {
				return out, fmt.Errorf("store: fleet sample of %s: %w", r.SelfID, err)
			}
			out.MaxID = max(out.MaxID, maxID)
			continue
		}
		r.Initiator = role == string(Initiator)
		r.LastCycleAt = last.ptr()
		visit(r)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: fleet rows: %w", err)
	}
	return out, nil
}

// nonNil makes an empty list an empty array, not NULL (x <> ALL(NULL) is
// NULL, which would drop every row).
func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

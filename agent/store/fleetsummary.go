package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// MaxFleetSummaryAgents bounds one FleetSummary call (one statement, one
// array parameter); the operator's agents on one database fit many times.
const MaxFleetSummaryAgents = 20000

// MaxFleetSampleRows bounds the per-agent peer sample.
const MaxFleetSampleRows = 64

// FleetQuery asks for one agent's aggregates. A peer counts as stale when
// its most recent cycle (over both roles) is older than StaleBefore or it
// never cycled.
type FleetQuery struct {
	SelfID      string
	StaleBefore time.Time
}

// FleetAgentSummary is one agent's aggregates over all its conversations.
//
// VerifiedCycles counts the cycles authenticated end to end
// (role_state.verified_cycles: both hs bound, key confirmed, finalize MAC
// valid; docs/protocol.md §7.4); the rest of Cycles ran without that
// (Python or open-mode peers). Sample is a stable page of conversations, ordered by
// peer ID then role, so it does not reorder as peers take turns cycling;
// its Secure is sampleSecure judged at StaleBefore.
type FleetAgentSummary struct {
	SelfID         string
	PeerCount      int
	Cycles         int64
	VerifiedCycles int64
	LastCycleAt    *time.Time
	StalePeers     int
	Sample         []PeerSummary
}

// sampleSecure is a sample row's secure flag: an encrypted session with the
// peer is up (its hs verified, an envelope from it opened since the stale
// cutoff) and, once the conversation has had a verified cycle (the peer
// binds, §7.4), a verified cycle since the cutoff too: a binding pair whose
// cycles stopped verifying (a downgrade, a hijacked hs) is not secure
// however fresh its envelopes. A conversation that never verified (a
// Python or open-mode peer) keeps the session meaning; its VerifiedCycles
// of 0 tells that it is not authenticated end to end.
const sampleSecure = `(s.hs_derived_at IS NOT NULL AND s.last_secure_at >= w.stale_before
				AND (s.verified_cycles = 0 OR s.last_verified_at >= w.stale_before))`

// fleetSummaryQuery returns one row per asked agent, with aggregates over
// its rows grouped by peer, and its sample as a JSON array, from a single
// snapshot (one statement). The sample walks uq_role_peer in order, so only
// sample-size rows per agent are read for it.
const fleetSummaryQuery = `WITH want AS (
		SELECT w.self_id, w.stale_before FROM unnest($1::text[], $2::timestamptz[]) AS w(self_id, stale_before)
	), per_peer AS (
		SELECT rs.self_id, rs.peer_id, sum(rs.cycles) AS cycles,
			sum(rs.verified_cycles) AS verified,
			max(rs.last_cycle_at) AS last_cycle_at
		FROM role_state rs JOIN want w ON w.self_id = rs.self_id
		GROUP BY rs.self_id, rs.peer_id
	)
	SELECT w.self_id, count(p.peer_id), COALESCE(sum(p.cycles), 0), COALESCE(sum(p.verified), 0), max(p.last_cycle_at),
		count(p.peer_id) FILTER (WHERE p.last_cycle_at IS NULL OR p.last_cycle_at < w.stale_before),
		(SELECT COALESCE(json_agg(json_build_array(s.peer_id, COALESCE(a.name, ''), s.role, s.state, s.cycles,
				s.last_cycle_at, ` + sampleSecure + `, s.verified_cycles)
				ORDER BY s.peer_id, s.role), '[]')
			FROM (SELECT peer_id, role, state, cycles, last_cycle_at, hs_derived_at, last_secure_at, verified_cycles, last_verified_at
				FROM role_state WHERE self_id = w.self_id ORDER BY peer_id, role LIMIT $3) s
			LEFT JOIN agents a ON a.self_id = s.peer_id)
	FROM want w LEFT JOIN per_peer p ON p.self_id = w.self_id
	GROUP BY w.self_id, w.stale_before`

// FleetSummary reads the aggregates of many agents in one statement
// (PostgreSQL only: the operator's databases). Agents without rows come
// back with zero counts. sampleRows caps each agent's Sample.
func (s *Store) FleetSummary(ctx context.Context, agents []FleetQuery, sampleRows int) (out map[string]FleetAgentSummary, err error) {
	defer s.observe("fleet_summary", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if s.dialect != DialectPostgres {
		return nil, fmt.Errorf("%w: fleet summary needs PostgreSQL, not %s", ErrInvalid, s.dialect)
	}
	if len(agents) > MaxFleetSummaryAgents {
		return nil, fmt.Errorf("%w: %d agents in one fleet summary (max %d)", ErrInvalid, len(agents), MaxFleetSummaryAgents)
	}
	if sampleRows < 0 || sampleRows > MaxFleetSampleRows {
		return nil, fmt.Errorf("%w: sample of %d rows (0..%d)", ErrInvalid, sampleRows, MaxFleetSampleRows)
	}
	ids := make([]string, len(agents))
	cutoffs := make([]time.Time, len(agents))
	for i, a := range agents {
		if err := checkText("self_id", a.SelfID, maxIDLen, true); err != nil {
			return nil, err
		}
		ids[i], cutoffs[i] = a.SelfID, a.StaleBefore.UTC()
	}
	out = make(map[string]FleetAgentSummary, len(agents))
	if len(agents) == 0 {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, fleetSummaryQuery, pq.Array(ids), pq.Array(cutoffs), sampleRows)
	if err != nil {
		return nil, fmt.Errorf("store: fleet summary of %d agents: %w", len(agents), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sum    FleetAgentSummary
			last   dbTime
			sample []byte
		)
		if err := rows.Scan(&sum.SelfID, &sum.PeerCount, &sum.Cycles, &sum.VerifiedCycles, &last, &sum.StalePeers, &sample); err != nil {
			return nil, fmt.Errorf("store: fleet summary: %w", err)
		}
		sum.LastCycleAt = last.ptr()
		if sum.Sample, err = decodeFleetSample(sample, sampleRows); err != nil {
			return nil, fmt.Errorf("store: fleet summary sample of %s: %w", sum.SelfID, err)
		}
		out[sum.SelfID] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: fleet summary: %w", err)
	}
	return out, nil
}

// decodeFleetSample parses the sample's JSON rows
// [peer_id, name, role, state, cycles, last_cycle_at, secure,
// verified_cycles]; anything else is an error, never a guess.
func decodeFleetSample(raw []byte, limit int) ([]PeerSummary, error) {
	var rows [][8]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	if len(rows) > limit {
		return nil, fmt.Errorf("%d sample rows, asked for %d", len(rows), limit)
	}
	out := make([]PeerSummary, 0, len(rows))
	for _, r := range rows {
		var (
			p    PeerSummary
			last *time.Time
		)
		for i, dst := range []any{&p.PeerID, &p.Name, &p.Role, &p.State, &p.Cycles, &last, &p.Secure, &p.VerifiedCycles} {
			if err := json.Unmarshal(r[i], dst); err != nil {
				return nil, fmt.Errorf("sample column %d: %w", i, err)
			}
		}
		if last != nil {
			t := normTime(*last)
			p.LastCycleAt = &t
		}
		out = append(out, p)
	}
	return out, nil
}

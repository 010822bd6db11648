package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// applyStepsPG is the PostgreSQL form of ApplySteps: the whole batch is
// one statement (one round trip, one implicit transaction) over arrays of
// the steps' fields. Under load a round trip costs more than a commit, so
// this is what makes a batch cheap, not only the shared commit. Its
// checks and writes mirror applyStep:
//
//   - lk locks every step's row in key order, so two batches that share
//     rows wait for each other instead of deadlocking (40P01), and says
//     whether a writing step's row is still at its version (a concurrent
//     writer is waited for, then re-checked); go joins lk, so no row is
//     written before the batch holds all its locks;
//   - a step whose hs nonce is already logged for this agent (any role,
//     any peer: hsNonceSeenSQL) does nothing;
//   - n records each writing step's received nonce, and the row moves
//     only if that insert was new (record-once, as UpdateRecordingNonce);
//   - the pair log is cleared and the other nonces logged only for steps
//     that applied. The DELETE sees the statement's snapshot, so the
//     received nonce recorded by n survives the clear.
//
// The steps must have distinct keys (ApplySteps falls back to the
// transaction path otherwise).
const applyStepsPGQuery = `WITH inp AS (
	SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bool[],
		$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[],
		$14::text[], $15::text[], $16::text[], $17::timestamptz[], $18::timestamptz[],
		$19::text[], $20::text[], $21::text[], $22::bool[], $23::timestamptz[], $25::bool[])
	AS t(idx, self_id, role, peer_id, version, write,
		state, local_nonce, peer_nonce, local_reference, peer_reference, exchange_count, finalize_retry_count,
		peer_address, peer_sign_pub, peer_kx_pub, hs_derived_at, last_secure_at,
		received, hs_nonce, sent, clear_log, cycle_at, verified)
), lk AS (
	SELECT i.idx, r.version = i.version AS at_version FROM role_state r JOIN inp i
		ON r.self_id = i.self_id AND r.role = i.role AND r.peer_id = i.peer_id
	ORDER BY r.self_id, r.role, r.peer_id
	FOR UPDATE OF r
), chk AS (
	SELECT i.idx,
		(i.hs_nonce IS NOT NULL AND EXISTS (SELECT 1 FROM nonce_event e WHERE e.self_id = i.self_id
			AND e.flow = 'hs' AND e.nonce = i.hs_nonce)) AS hs_seen,
		(i.received IS NOT NULL AND EXISTS (SELECT 1 FROM nonce_event e WHERE e.self_id = i.self_id
			AND e.role = i.role AND e.peer_id = i.peer_id AND e.flow = 'received' AND e.nonce = i.received)) AS rcv_seen,
		(SELECT r.version FROM role_state r WHERE r.self_id = i.self_id AND r.role = i.role AND r.peer_id = i.peer_id) AS cur_version
	FROM inp i
), go AS (
	SELECT i.* FROM inp i JOIN chk c ON c.idx = i.idx LEFT JOIN lk l ON l.idx = i.idx
	WHERE NOT c.hs_seen AND (NOT i.write OR COALESCE(l.at_version, false))
), n AS (
	INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
	SELECT g.self_id, g.role, g.peer_id, 'received', g.received, $24::timestamptz FROM go g
	WHERE g.write AND g.received IS NOT NULL
	ON CONFLICT (self_id, role, peer_id, flow, nonce) DO NOTHING
	RETURNING self_id, role, peer_id
), up AS (
	UPDATE role_state r SET
		state = CASE WHEN g.write THEN g.state ELSE r.state END,
		local_nonce = CASE WHEN g.write THEN g.local_nonce ELSE r.local_nonce END,
		peer_nonce = CASE WHEN g.write THEN g.peer_nonce ELSE r.peer_nonce END,
		local_reference = CASE WHEN g.write THEN g.local_reference ELSE r.local_reference END,
		peer_reference = CASE WHEN g.write THEN g.peer_reference ELSE r.peer_reference END,
		exchange_count = CASE WHEN g.write THEN g.exchange_count ELSE r.exchange_count END,
		finalize_retry_count = CASE WHEN g.write THEN g.finalize_retry_count ELSE r.finalize_retry_count END,
		peer_address = CASE WHEN g.write THEN g.peer_address ELSE r.peer_address END,
		peer_sign_pub = CASE WHEN g.write THEN g.peer_sign_pub ELSE r.peer_sign_pub END,
		peer_kx_pub = CASE WHEN g.write THEN g.peer_kx_pub ELSE r.peer_kx_pub END,
		hs_derived_at = CASE WHEN g.write THEN g.hs_derived_at ELSE r.hs_derived_at END,
		last_secure_at = CASE WHEN g.write THEN g.last_secure_at ELSE r.last_secure_at END,
		version = r.version + CASE WHEN g.write THEN 1 ELSE 0 END,
		cycles = r.cycles + CASE WHEN g.cycle_at IS NULL THEN 0 ELSE 1 END,
		verified_cycles = r.verified_cycles + CASE WHEN g.cycle_at IS NOT NULL AND g.verified THEN 1 ELSE 0 END,
		last_verified_at = CASE WHEN g.cycle_at IS NOT NULL AND g.verified
			AND (r.last_verified_at IS NULL OR r.last_verified_at < g.cycle_at) THEN g.cycle_at ELSE r.last_verified_at END,
		last_cycle_at = CASE WHEN g.cycle_at IS NOT NULL AND (r.last_cycle_at IS NULL OR r.last_cycle_at < g.cycle_at)
			THEN g.cycle_at ELSE r.last_cycle_at END,
		updated_at = $24::timestamptz
	FROM go g
	WHERE r.self_id = g.self_id AND r.role = g.role AND r.peer_id = g.peer_id
		AND (g.write OR g.cycle_at IS NOT NULL)
		AND (NOT g.write OR (r.version = g.version AND (g.received IS NULL OR EXISTS (SELECT 1 FROM n
			WHERE n.self_id = g.self_id AND n.role = g.role AND n.peer_id = g.peer_id))))
	RETURNING g.idx, r.version, r.cycles, r.last_cycle_at
), done AS (
	SELECT idx FROM up
	UNION ALL
	SELECT idx FROM go WHERE NOT write AND cycle_at IS NULL
), del AS (
	DELETE FROM nonce_event e USING done d JOIN inp i ON i.idx = d.idx
	WHERE i.clear_log AND e.self_id = i.self_id AND e.role = i.role AND e.peer_id = i.peer_id AND e.flow <> 'hs'
), ins AS (
	INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
	SELECT i.self_id, i.role, i.peer_id, v.flow, v.nonce, $24::timestamptz
	FROM done d JOIN inp i ON i.idx = d.idx
	CROSS JOIN LATERAL (VALUES ('hs', i.hs_nonce), ('sent', i.sent),
		('received', CASE WHEN i.write THEN NULL ELSE i.received END)) AS v(flow, nonce)
	WHERE v.nonce IS NOT NULL
	ON CONFLICT (self_id, role, peer_id, flow, nonce) DO NOTHING
)
SELECT i.idx, d.idx IS NOT NULL, c.hs_seen, c.rcv_seen, c.cur_version, u.version, u.cycles, u.last_cycle_at
FROM inp i JOIN chk c ON c.idx = i.idx
	LEFT JOIN done d ON d.idx = i.idx
	LEFT JOIN up u ON u.idx = i.idx
ORDER BY i.idx`

// pgStepArrays holds the steps column by column for applyStepsPGQuery.
type pgStepArrays struct {
	idx, exchange, finalize                  []int64
	self, role, peer, state                  []string
	version                                  []int64
	write, clear, verified                   []bool
	localNonce, peerNonce, localRef, peerRef []sql.NullString
	peerAddr, peerSign, peerKx               []sql.NullString
	hsDerived, lastSecure, cycleAt           []sql.NullString
	received, hsNonce, sent                  []sql.NullString
}

func nullStr(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func nonEmpty(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func pgTime(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: normTime(*t).Format(time.RFC3339Nano), Valid: true}
}

func (a *pgStepArrays) add(i int, st Step) {
	n := st.Next
	a.idx = append(a.idx, int64(i))
	a.self, a.role, a.peer = append(a.self, st.Key.SelfID), append(a.role, string(st.Key.Role)), append(a.peer, st.Key.PeerID)
	a.version, a.write, a.state = append(a.version, n.Version), append(a.write, st.Write), append(a.state, n.State)
	a.localNonce, a.peerNonce = append(a.localNonce, nullStr(n.LocalNonce)), append(a.peerNonce, nullStr(n.PeerNonce))
	a.localRef, a.peerRef = append(a.localRef, nullStr(n.LocalReference)), append(a.peerRef, nullStr(n.PeerReference))
	a.exchange, a.finalize = append(a.exchange, int64(n.ExchangeCount)), append(a.finalize, int64(n.FinalizeRetryCount))
	a.peerAddr, a.peerSign, a.peerKx = append(a.peerAddr, nullStr(n.PeerAddress)), append(a.peerSign, nullStr(n.PeerSignPub)), append(a.peerKx, nullStr(n.PeerKxPub))
	a.hsDerived, a.lastSecure = append(a.hsDerived, pgTime(n.HSDerivedAt)), append(a.lastSecure, pgTime(n.LastSecureAt))
	a.received, a.hsNonce, a.sent = append(a.received, nonEmpty(st.Received)), append(a.hsNonce, nonEmpty(st.HSNonce)), append(a.sent, nonEmpty(st.Sent))
	a.clear, a.cycleAt = append(a.clear, st.ClearPairNonces), append(a.cycleAt, pgTime(st.CycleAt))
	a.verified = append(a.verified, st.Verified)
}

func (a *pgStepArrays) args(now time.Time) []any {
	return []any{pq.Array(a.idx), pq.Array(a.self), pq.Array(a.role), pq.Array(a.peer), pq.Array(a.version), pq.Array(a.write),
		pq.Array(a.state), pq.Array(a.localNonce), pq.Array(a.peerNonce), pq.Array(a.localRef), pq.Array(a.peerRef),
		pq.Array(a.exchange), pq.Array(a.finalize), pq.Array(a.peerAddr), pq.Array(a.peerSign), pq.Array(a.peerKx),
		pq.Array(a.hsDerived), pq.Array(a.lastSecure), pq.Array(a.received), pq.Array(a.hsNonce), pq.Array(a.sent),
		pq.Array(a.clear), pq.Array(a.cycleAt), normTime(now), pq.Array(a.verified)}
}

// pgStepRow is one row of applyStepsPGQuery's result.
type pgStepRow struct {
	idx                      int
	applied, hsSeen, rcvSeen bool
	curVersion, newVersion   sql.NullInt64
	cycles                   sql.NullInt64
	lastCycle                dbTime
}

// applyStepsPG runs the valid steps (results[i].Err == nil) in one
// statement (prepared, see runHot) and fills in their results.
func (s *Store) applyStepsPG(ctx context.Context, steps []Step, results []StepResult) error {
	var a pgStepArrays
	for i, st := range steps {
		if results[i].Err == nil {
			a.add(i, st)
		}
	}
	now := s.now()
	var out []pgStepRow
	err := s.runHot(ctx, applyStepsPGQuery, a.args(now), func(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) error {
		out = out[:0]
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r pgStepRow
			if err := rows.Scan(&r.idx, &r.applied, &r.hsSeen, &r.rcvSeen, &r.curVersion, &r.newVersion, &r.cycles, &r.lastCycle); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("store: apply %d steps: %w", len(a.idx), err)
	}
	for _, r := range out {
		if r.idx < 0 || r.idx >= len(steps) {
			return fmt.Errorf("store: apply %d steps: result for step %d", len(a.idx), r.idx)
		}
		results[r.idx] = pgStepResult(steps[r.idx], r.applied, r.hsSeen, r.rcvSeen, r.curVersion, r.newVersion, r.cycles, r.lastCycle, now)
	}
	return nil
}

func pgStepResult(st Step, applied, hsSeen, rcvSeen bool, cur, next, cycles sql.NullInt64, lastCycle dbTime, now time.Time) StepResult {
	k := st.Key
	switch {
	case applied:
		row := st.Next
		if st.Write {
			row.Version = next.Int64
			row.UpdatedAt = normTime(now)
		}
		res := StepResult{Row: row}
		if st.CycleAt != nil {
			res.Cycles = cycles.Int64
			res.Row.Cycles, res.Row.LastCycleAt = cycles.Int64, lastCycle.ptr()
		}
		return res
	case hsSeen:
		return replayResult(k, FlowHS, st.HSNonce)
	case !cur.Valid:
		return StepResult{Err: fmt.Errorf("%w: %s", ErrNotFound, k.label())}
	case st.Write && st.Received != "" && rcvSeen:
		return replayResult(k, FlowReceived, st.Received)
	case st.Write:
		return StepResult{Err: fmt.Errorf("%w: %s at version %d", ErrConflict, k.label(), st.Next.Version)}
	default:
		return StepResult{Err: fmt.Errorf("%w: %s", ErrNotFound, k.label())}
	}
}

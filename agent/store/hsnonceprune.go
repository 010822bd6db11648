package store

import (
	"context"
	"fmt"
	"time"
)

// hsPruneBatch bounds one statement of an hs nonce prune. Each batch is
// its own short transaction, so a prune never holds more row locks than
// this, and a large backlog does not become one long delete.
const hsPruneBatch = 500

// hsPruneBatchSQL deletes up to hsPruneBatch old hs rows that match scope
// (empty, or a condition ending in AND); its arguments are scope's, the
// cutoff and the batch size.
//
// On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED: a row that
// another prune (or the operator's finalizer) has locked is left to that
// transaction instead of waited for, so concurrent prunes never wait on
// each other and cannot deadlock (issue 11: N agents deleting the same
// rows in different orders did, SQLSTATE 40P01). ARRAY(...) makes the
// locking subquery an init plan, run once. SQLite has one writer at a time
// and no row locks: the same delete without the locking clause.
func hsPruneBatchSQL(dialect, scope string) string {
	pick := `SELECT id FROM nonce_event WHERE ` + scope + `flow = 'hs' AND created_at < ? LIMIT ?`
	if dialect == DialectPostgres {
		return `DELETE FROM nonce_event WHERE id = ANY (ARRAY(` + pick + ` FOR UPDATE SKIP LOCKED))`
	}
	return `DELETE FROM nonce_event WHERE id IN (` + pick + `)`
}

// DeleteOwnHSNoncesOlderThan removes selfID's FlowHS rows recorded more
// than age ago (by the Store's clock), leaving other agents' rows and the
// per-cycle flows alone, and returns how many went. It reads only selfID's
// hs rows (ix_nonce_event_hs_self), so an agent's prune costs the same
// whatever the fleet's size. This is the prune an agent should run.
func (s *Store) DeleteOwnHSNoncesOlderThan(ctx context.Context, selfID string, age time.Duration) (deleted int64, err error) {
	defer s.observe("delete_old_hs_nonces", time.Now(), &err)
	if err := s.checkPruneArgs(age); err != nil {
		return 0, err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return 0, err
	}
	deleted, err = s.pruneHSNonces(ctx, s.q.pruneOwnHSNonces, selfID, s.timeArg(s.now().Add(-age)))
	if err != nil {
		return deleted, fmt.Errorf("store: delete %s's hs nonces older than %v: %w", selfID, age, err)
	}
	return deleted, nil
}

// DeleteHSNoncesOlderThan removes every agent's FlowHS rows recorded more
// than age ago (by the Store's clock), leaving the per-cycle flows alone,
// and returns how many went. It is safe to run from many agents at once
// (no deadlocks), but each one then repeats the whole fleet's work: agents
// should call DeleteOwnHSNoncesOlderThan.
func (s *Store) DeleteHSNoncesOlderThan(ctx context.Context, age time.Duration) (deleted int64, err error) {
	defer s.observe("delete_old_hs_nonces", time.Now(), &err)
	if err := s.checkPruneArgs(age); err != nil {
		return 0, err
	}
	deleted, err = s.pruneHSNonces(ctx, s.q.pruneHSNonces, s.timeArg(s.now().Add(-age)))
	if err != nil {
		return deleted, fmt.Errorf("store: delete hs nonces older than %v: %w", age, err)
	}
	return deleted, nil
}

func (s *Store) checkPruneArgs(age time.Duration) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if age < 0 {
		return fmt.Errorf("%w: negative nonce age %v", ErrInvalid, age)
	}
	return nil
}

// pruneHSNonces runs query batch after batch until one deletes less than
// a full batch: then the rest is gone, or locked by a concurrent prune
// that deletes it.
func (s *Store) pruneHSNonces(ctx context.Context, query string, args ...any) (deleted int64, err error) {
	args = append(args, hsPruneBatch)
	for {
		var n int64
		err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
			res, err := w.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		if n < hsPruneBatch {
			return deleted, nil
		}
	}
}

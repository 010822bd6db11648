package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UpdateRecordingNonce is Update and RecordNonceOnce(next.Key, flow, nonce)
// as one atomic step: one statement (one round trip) on PostgreSQL, one
// transaction on SQLite. Either both happen or neither does:
//
//   - success: the row is written as Update would and the nonce is in the
//     log; the stored row is returned.
//   - ErrReplay: the nonce was already recorded for (next.Key, flow);
//     nothing changed.
//   - ErrConflict: the row is no longer at next.Version; nothing changed
//     and the nonce is NOT recorded, so re-reading and retrying is safe.
//   - ErrNotFound: the row does not exist; nothing changed.
//
// When the row moved and the nonce is also recorded by then, ErrReplay wins:
// the retry would be rejected as a replay anyway. A handler that accepts a
// peer's message calls this with the message's nonce, so two deliveries of
// one message can never both change the row.
func (s *Store) UpdateRecordingNonce(ctx context.Context, next RoleState, flow, nonce string) (rs RoleState, err error) {
	defer s.observe("update_recording_nonce", time.Now(), &err)
	if err := s.checkNonceArgs(next.Key, flow, nonce); err != nil {
		return RoleState{}, err
	}
	if err := next.validate(); err != nil {
		return RoleState{}, err
	}
	var applied bool
	if s.dialect == DialectPostgres {
		rs, applied, err = s.updateRecordingNoncePG(ctx, next, flow, nonce)
	} else {
		rs, applied, err = s.updateRecordingNonceTx(ctx, next, flow, nonce)
	}
	if err != nil || applied {
		return rs, err
	}
	return RoleState{}, s.updateNonceOutcome(ctx, next, flow, nonce)
}

func (s *Store) updateRecordingNoncePG(ctx context.Context, next RoleState, flow, nonce string) (RoleState, bool, error) {
	k := next.Key
	args := make([]any, 0, 27) // the whole statement's: no copy on append
	args = append(args, k.SelfID, string(k.Role), k.PeerID, next.Version,
		k.SelfID, string(k.Role), k.PeerID, flow, nonce, s.timeArg(s.now()))
	args = append(args, s.updateSetArgs(next)...)
	args = append(args, k.SelfID, string(k.Role), k.PeerID, next.Version)
	var row roleRow
	err := s.getReturned(ctx, &row, s.q.updateRecordingNonce, args...)
	switch {
	case err == nil:
		return next.stored(row), true, nil
	case errors.Is(err, sql.ErrNoRows):
		return RoleState{}, false, nil
	default:
		return RoleState{}, false, fmt.Errorf("store: update %s recording %s nonce: %w", k.label(), flow, err)
	}
}

// updateRecordingNonceTx holds SQLite's write lock from BEGIN (the writer
// pool uses _txlock=immediate), so the update and the insert see no other
// writer in between.
func (s *Store) updateRecordingNonceTx(ctx context.Context, next RoleState, flow, nonce string) (rs RoleState, applied bool, err error) {
	k := next.Key
	wrap := func(err error) error {
		return fmt.Errorf("store: update %s recording %s nonce: %w", k.label(), flow, err)
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return RoleState{}, false, wrap(err)
	}
	defer tx.Rollback() // no-op after Commit
	var row roleRow
	err = tx.GetContext(ctx, &row, s.q.updateRole, append(s.updateSetArgs(next), k.SelfID, string(k.Role), k.PeerID, next.Version)...)
	if errors.Is(err, sql.ErrNoRows) {
		return RoleState{}, false, nil
	}
	if err != nil {
		return RoleState{}, false, wrap(err)
	}
	res, err := tx.ExecContext(ctx, s.q.recordNonce, k.SelfID, string(k.Role), k.PeerID, flow, nonce, s.timeArg(s.now()))
	if err != nil {
		return RoleState{}, false, wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return RoleState{}, false, wrap(err)
		}
		return RoleState{}, false, nil // rolled back: a replay
	}
	if err := tx.Commit(); err != nil {
		return RoleState{}, false, wrap(err)
	}
	return next.stored(row), true, nil
}

// updateNonceOutcome explains a conditional update that changed nothing,
// in the documented order: missing row, replay, conflict.
func (s *Store) updateNonceOutcome(ctx context.Context, next RoleState, flow, nonce string) error {
	k := next.Key
	var version sql.NullInt64
	var recorded int
	err := s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return w.QueryRowxContext(ctx, s.q.updateNonceOutcome, k.SelfID, string(k.Role), k.PeerID,
			k.SelfID, string(k.Role), k.PeerID, flow, nonce).Scan(&version, &recorded)
	})
	switch {
	case err != nil:
		return fmt.Errorf("store: update %s recording %s nonce: %w", k.label(), flow, err)
	case !version.Valid:
		return fmt.Errorf("%w: %s", ErrNotFound, k.label())
	case recorded == 1:
		return fmt.Errorf("%w: %s nonce %q for %s", ErrReplay, flow, nonce, k.label())
	default:
		return fmt.Errorf("%w: %s at version %d", ErrConflict, k.label(), next.Version)
	}
}

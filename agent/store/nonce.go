package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordNonceOnce logs nonce for (k, flow) unless it is already there, in
// one atomic INSERT ... ON CONFLICT DO NOTHING. isNew is true for exactly
// one of any number of concurrent callers.
func (s *Store) RecordNonceOnce(ctx context.Context, k Key, flow, nonce string) (isNew bool, err error) {
	defer s.observe("record_nonce", time.Now(), &err)
	if err := s.checkNonceArgs(k, flow, nonce); err != nil {
		return false, err
	}
	var res sql.Result
	err = s.onWriter(ctx, func(ctx context.Context, w writer) (err error) {
		res, err = w.ExecContext(ctx, s.q.recordNonce, k.SelfID, string(k.Role), k.PeerID, flow, nonce, s.timeArg(s.now()))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: record %s nonce for %s: %w", flow, k.label(), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: record %s nonce for %s: %w", flow, k.label(), err)
	}
	return n == 1, nil
}

// NonceExists reports whether nonce was recorded for (k, flow).
func (s *Store) NonceExists(ctx context.Context, k Key, flow, nonce string) (exists bool, err error) {
	defer s.observe("nonce_exists", time.Now(), &err)
	if err := s.checkNonceArgs(k, flow, nonce); err != nil {
		return false, err
	}
	var n int
	err = s.onReader(ctx, func(ctx context.Context, r writer) error {
		return r.GetContext(ctx, &n, s.q.nonceExists, k.SelfID, string(k.Role), k.PeerID, flow, nonce)
	})
	if err != nil {
		return false, fmt.Errorf("store: look up %s nonce for %s: %w", flow, k.label(), err)
	}
	return n > 0, nil
}

func (s *Store) checkNonceArgs(k Key, flow, nonce string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := k.validate(); err != nil {
		return err
	}
	if err := checkFlow(flow); err != nil {
		return err
	}
	return checkText("nonce", nonce, maxTokenLen, true)
}

// DeletePairNonces clears the nonce log of one conversation (the sent and
// received flows), as the protocol does at finish/close. FlowHS rows stay:
// they guard the next cycles until DeleteHSNoncesOlderThan prunes them.
func (s *Store) DeletePairNonces(ctx context.Context, k Key) (err error) {
	defer s.observe("delete_pair_nonces", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := k.validate(); err != nil {
		return err
	}
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		_, err := w.ExecContext(ctx, s.q.deletePairNonces, k.SelfID, string(k.Role), k.PeerID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete nonces of %s: %w", k.label(), err)
	}
	return nil
}

// DeleteNoncesOlderThan removes nonce_event rows recorded more than age
// ago (by the Store's clock) and returns how many went.
func (s *Store) DeleteNoncesOlderThan(ctx context.Context, age time.Duration) (deleted int64, err error) {
	defer s.observe("delete_old_nonces", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if age < 0 {
		return 0, fmt.Errorf("%w: negative nonce age %v", ErrInvalid, age)
	}
	res, err := s.w.ExecContext(ctx, s.q.deleteOldNonces, s.timeArg(s.now().Add(-age)))
	if err != nil {
		return 0, fmt.Errorf("store: delete nonces older than %v: %w", age, err)
	}
	if deleted, err = res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("store: delete nonces older than %v: %w", age, err)
	}
	return deleted, nil
}

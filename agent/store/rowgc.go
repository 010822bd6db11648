package store

import (
	"context"
	"fmt"
	"time"
)

// DeleteUnusedRole removes k's role_state row if it never counted a cycle
// and is still at version (nobody wrote it since the caller read it), with
// the pair's sent/received nonce rows; it reports whether the row went.
// The engine calls it when it evicts the conversation of a peer that never
// completed a cycle (invented IDs in open or tofu mode), so such rows do
// not accumulate (issue 12 item 5). The per-self hs nonce rows stay: they
// are pruned by age (DeleteHSNoncesOlderThan).
func (s *Store) DeleteUnusedRole(ctx context.Context, k Key, version int64) (deleted bool, err error) {
	defer s.observe("delete_unused_role", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	if err := k.validate(); err != nil {
		return false, err
	}
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		res, err := s.execBound(ctx, w, s.q.deleteUnusedRole, k.SelfID, string(k.Role), k.PeerID, version)
		if err != nil {
			return fmt.Errorf("store: delete unused row %s: %w", k.label(), err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		deleted = true
		if _, err := s.execBound(ctx, w, s.q.deletePairNonces, k.SelfID, string(k.Role), k.PeerID); err != nil {
			return fmt.Errorf("store: delete nonces of %s: %w", k.label(), err)
		}
		return nil
	})
	return deleted, err
}

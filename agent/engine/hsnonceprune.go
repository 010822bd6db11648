package engine

import (
	"context"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// hsNonceRetention is how long a verified hs nonce stays logged. An hs is
// accepted up to HandshakeTTL old and up to HandshakeTTL in the future, so
// one logged now can still verify 2×TTL from now; the rest is clock margin.
const hsNonceRetention = 2*crypto.HandshakeTTL + 30*time.Second

// hsNoncePruneEvery spaces the prune of this agent's hs nonce rows.
const hsNoncePruneEvery = time.Minute

// pruneHSNoncesLoop keeps the hs nonce log (which outlives cycles) bounded.
func (e *Engine) pruneHSNoncesLoop(ctx context.Context) {
	t := time.NewTicker(hsNoncePruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.pruneHSNonces(hsNonceRetention)
		}
	}
}

// pruneHSNonces deletes this agent's hs nonces logged more than retention
// ago. Other agents' rows are theirs to prune; a deleted agent's rows go
// with the operator's finalizer (docs/engine-scale.md).
func (e *Engine) pruneHSNonces(retention time.Duration) (int64, error) {
	sctx, cancel := e.storeCtx()
	defer cancel()
	n, err := e.cfg.Store.DeleteOwnHSNoncesOlderThan(sctx, e.self, retention)
	e.storeResult("delete_old_hs_nonces", err)
	if err != nil {
		e.log.Warn("hs nonce log not pruned", "error", err)
		return 0, err
	}
	if n > 0 {
		e.log.Debug("hs nonce log pruned", "deleted", n)
	}
	return n, nil
}

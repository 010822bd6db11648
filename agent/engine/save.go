package engine

import (
	"errors"

	"github.com/hsfleet/hsfleet/agent/store"
)

// save writes res.Row (compare-and-set on the stored Version). When the step
// accepted a peer's nonce, the row and the nonce go to the store in one
// atomic call (one round trip on PostgreSQL): a lost update never leaves the
// nonce marked as seen, and a replay never changes the row. The exception is
// a step that also clears the nonce log: there the nonce is logged after the
// clear, so it keeps the separate Update. logged reports whether the
// received nonce is already in the log.
//
// Errors: store.ErrConflict (reload and evaluate again), store.ErrReplay
// (the nonce was logged first by another delivery; nothing changed), or a
// store failure (counted and logged here).
func (c *conv) save(res Result) (logged bool, err error) {
	combined := res.RecordReceived != "" && !res.DeletePairNonces
	op := "update"
	sctx, cancel := c.e.storeCtx()
	var rs store.RoleState
	if combined {
		op = "update_recording_nonce"
		rs, err = c.e.cfg.Store.UpdateRecordingNonce(sctx, res.Row.toStore(c.stored), flowReceived, res.RecordReceived)
	} else {
		rs, err = c.e.cfg.Store.Update(sctx, res.Row.toStore(c.stored))
	}
	cancel()
	switch {
	case errors.Is(err, store.ErrReplay):
		c.nonces.add(flowReceived, res.RecordReceived)
		c.e.storeResult(op, nil)
		return false, err
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		// The database answered: neither makes the store unhealthy.
		c.e.storeResult(op, nil)
		return false, err
	case err != nil:
		c.e.storeResult(op, err)
		return false, err
	}
	c.e.storeResult(op, nil)
	c.stored = rs
	return combined, nil
}

package engine

import (
	"errors"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// save writes everything res changes as one step through the agent's
// group writer: the row (compare-and-set on the stored Version), the
// accepted nonce (recorded once, atomically with the row), the verified hs
// nonce (rejected if already logged), the cleared pair log, our sent nonce
// and the cycle count. The step commits whole or not at all, so a lost
// update never leaves a nonce marked as seen, a replay never changes the
// row, and a cycle is counted exactly when its final state is saved.
// cycles is the pair's cycle total when res completed one.
//
// Errors: store.ErrConflict (reload and evaluate again), store.ErrReplay
// (the nonce was logged first by another delivery; nothing changed),
// store.ErrNotFound, or a failed transaction (counted and logged by the
// writer; nothing of the step is saved).
func (c *conv) save(res protocol.Result, now time.Time) (cycles int64, err error) {
	step := storeStep(res, c.key, c.stored, c.e.cfg.LogSentNonces, now)
	if emptyStep(step) {
		return 0, nil
	}
	r, err := c.e.writer.apply(step)
	if err != nil {
		return 0, err
	}
	switch {
	case errors.Is(r.Err, store.ErrReplay):
		if r.ReplayFlow == store.FlowHS {
			c.e.m.Handshakes.WithLabelValues("failed", "replay").Inc()
		} else {
			c.nonces.Add(protocol.FlowReceived, res.RecordReceived)
		}
		return 0, r.Err
	case errors.Is(r.Err, store.ErrInvalid):
		// Input the store refuses (a peer ID it cannot hold): the database
		// is fine, and retrying cannot help. step logs it.
		return 0, r.Err
	case r.Err != nil: // conflict or missing row: the caller decides
		return 0, r.Err
	}
	if res.RecordHS != "" {
		c.e.m.Handshakes.WithLabelValues("ok", "").Inc()
	}
	if res.Write {
		c.stored = r.Row
	}
	return r.Cycles, nil
}

// storeStep is the store part of a step (its Effects): the row write (when
// r.Write, compare-and-set on stored) with its nonces and cycle count.
// logSent reports whether our own nonces are logged (Config.LogSentNonces).
func storeStep(r protocol.Result, key store.Key, stored store.RoleState, logSent bool, now time.Time) store.Step {
	step := store.Step{Key: key, Received: r.RecordReceived, HSNonce: r.RecordHS,
		ClearPairNonces: r.DeletePairNonces}
	if r.Write {
		step.Write, step.Next = true, rowToStore(r.Row, stored)
	}
	if logSent {
		step.Sent = r.RecordSent
	}
	if r.CycleDone {
		at := now.UTC()
		step.CycleAt = &at
		step.Verified = r.Verified
	}
	return step
}

// emptyStep reports whether the step saves nothing.
func emptyStep(step store.Step) bool {
	return !step.Write && step.Received == "" && step.HSNonce == "" && !step.ClearPairNonces &&
		step.Sent == "" && step.CycleAt == nil
}

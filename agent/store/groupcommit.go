package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Step is everything one conversation step saves: its row (compare-and-set)
// and the nonces and cycle count that go with it. ApplySteps writes many
// steps, of any conversations, in one transaction (one commit), and each
// step is all or nothing on its own: a step that conflicts, replays or
// misses its row changes nothing, and the batch's other steps still apply.
type Step struct {
	Key Key
	// Next, when Write is set, is written like Update: only if the row is
	// still at Next.Version.
	Next  RoleState
	Write bool
	// Received is the peer nonce this step accepts (FlowReceived). With
	// Write it is recorded atomically with the row: if it is already
	// recorded the step is a replay (ErrReplay). Without Write it is only
	// logged.
	Received string
	// HSNonce is a verified hs nonce: if this agent already logged it
	// under FlowHS, for any role and peer, the step is a replay
	// (ErrReplay); otherwise it is logged under Key.
	HSNonce string
	// ClearPairNonces deletes the pair's sent and received log (the end of
	// a cycle) after the row is written; Received is logged again after.
	ClearPairNonces bool
	// Sent is our own nonce, logged under FlowSent (may already be there).
	Sent string
	// CycleAt, when set, counts one completed cycle (see BumpCycles).
	CycleAt *time.Time
	// Verified (with CycleAt): the cycle was authenticated end to end; it
	// also counts in verified_cycles and moves last_verified_at.
	Verified bool
}

// verifiedArg is the 0/1 increment of verified_cycles.
func verifiedArg(v bool) int {
	if v {
		return 1
	}
	return 0
}

// StepResult is one step's outcome. Err is nil (the step is committed with
// its batch), or ErrConflict, ErrReplay, ErrNotFound or ErrInvalid (nothing
// of the step was applied).
type StepResult struct {
	Row    RoleState // the stored row, when the step wrote one
	Cycles int64     // the pair's total, when the step counted a cycle
	// ReplayFlow is FlowReceived or FlowHS when Err is ErrReplay.
	ReplayFlow string
	Err        error
}

// ApplySteps saves steps in one transaction, in order, and returns one
// result per step. On PostgreSQL a batch of distinct keys is a single
// statement (applyStepsPG); otherwise (SQLite, or one key twice) the steps
// run one after another in an explicit transaction. An error return means the transaction did not commit
// (a database failure, ctx, or ErrClosed): no step is known to be saved,
// and the caller must not act on any of them. Steps are plain conditional
// statements (no savepoints, no session state), so a batch works through
// PgBouncer in transaction mode.
func (s *Store) ApplySteps(ctx context.Context, steps []Step) (results []StepResult, err error) {
	defer s.observe("apply_steps", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	results = make([]StepResult, len(steps))
	valid := 0
	for i := range steps {
		if results[i].Err = steps[i].validate(); results[i].Err == nil {
			valid++
		}
	}
	if valid == 0 {
		return results, nil
	}
	if valid == 1 && len(steps) == 1 && steps[0].plainWrite() {
		// The common step alone (a quiet agent): the small statement
		// plans faster than the batch one.
		results[0] = s.applyPlainWrite(ctx, steps[0])
		if errors.Is(results[0].Err, ErrConflict) || errors.Is(results[0].Err, ErrReplay) || errors.Is(results[0].Err, ErrNotFound) {
			return results, nil
		}
		if results[0].Err != nil {
			return nil, results[0].Err
		}
		return results, nil
	}
	if s.dialect == DialectPostgres && distinctKeys(steps) {
		if err := s.applyStepsPG(ctx, steps, results); err != nil {
			return nil, err
		}
		return results, nil
	}
	if err := s.onWriter(ctx, func(ctx context.Context, w writer) error { return s.applyStepsTx(ctx, w, steps, results) }); err != nil {
		return nil, err
	}
	return results, nil
}

// applyStepsTx runs the valid steps one after another in one transaction
// and fills in their results.
func (s *Store) applyStepsTx(ctx context.Context, w writer, steps []Step, results []StepResult) error {
	tx, err := w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: apply %d steps: begin: %w", len(steps), err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := setTxServerTimeout(ctx, tx); err != nil {
		return fmt.Errorf("store: apply %d steps: %w", len(steps), err)
	}
	for i, st := range steps {
		if results[i].Err != nil {
			continue
		}
		if results[i], err = s.applyStep(ctx, tx, st); err != nil {
			return fmt.Errorf("store: apply %d steps: %s: %w", len(steps), st.Key.label(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: apply %d steps: commit: %w", len(steps), err)
	}
	return nil
}

// plainWrite: a row write, with or without an accepted nonce, and nothing
// else: what Update and UpdateRecordingNonce do on their own.
func (st Step) plainWrite() bool {
	return st.Write && st.HSNonce == "" && !st.ClearPairNonces && st.Sent == "" && st.CycleAt == nil
}

func (s *Store) applyPlainWrite(ctx context.Context, st Step) StepResult {
	var rs RoleState
	var err error
	if st.Received != "" {
		rs, err = s.UpdateRecordingNonce(ctx, st.Next, FlowReceived, st.Received)
	} else {
		rs, err = s.Update(ctx, st.Next)
	}
	if errors.Is(err, ErrReplay) {
		return StepResult{ReplayFlow: FlowReceived, Err: err}
	}
	return StepResult{Row: rs, Err: err}
}

func distinctKeys(steps []Step) bool {
	seen := make(map[Key]struct{}, len(steps))
	for _, st := range steps {
		if _, dup := seen[st.Key]; dup {
			return false
		}
		seen[st.Key] = struct{}{}
	}
	return true
}

func (st Step) validate() error {
	if err := st.Key.validate(); err != nil {
		return err
	}
	if st.Write {
		if st.Next.Key != st.Key {
			return fmt.Errorf("%w: step row %s is not its key %s", ErrInvalid, st.Next.Key.label(), st.Key.label())
		}
		if err := st.Next.validate(); err != nil {
			return err
		}
	}
	for _, n := range []string{st.Received, st.HSNonce, st.Sent} {
		if n != "" {
			if err := checkText("nonce", n, maxTokenLen, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyStep runs one step inside tx. Checks come before writes, so a step
// that fails a check has written nothing; an error return is a database
// failure that aborts the whole batch.
func (s *Store) applyStep(ctx context.Context, tx *sqlx.Tx, st Step) (StepResult, error) {
	k := st.Key
	if st.HSNonce != "" {
		seen, err := s.hsNonceSeen(ctx, tx, k.SelfID, st.HSNonce)
		if err != nil || seen {
			return replayResult(k, FlowHS, st.HSNonce), err
		}
	}
	var res StepResult
	if st.Write {
		var outcome error
		var err error
		res.Row, outcome, err = s.casInTx(ctx, tx, st)
		if err != nil || outcome != nil {
			res.Err = outcome
			if errors.Is(outcome, ErrReplay) {
				res.ReplayFlow = FlowReceived
			}
			return res, err
		}
	}
	if st.CycleAt != nil {
		t := s.timeArg(*st.CycleAt)
		v := verifiedArg(st.Verified)
		err := tx.GetContext(ctx, &res.Cycles, s.q.bumpCycles, v, v, t, t, t, t, s.timeArg(s.now()), k.SelfID, string(k.Role), k.PeerID)
		if errors.Is(err, sql.ErrNoRows) {
			// Only reachable without Write (a written row exists).
			return StepResult{Err: fmt.Errorf("%w: %s", ErrNotFound, k.label())}, nil
		}
		if err != nil {
			return res, err
		}
	}
	if st.ClearPairNonces {
		if _, err := tx.ExecContext(ctx, s.q.deletePairNonces, k.SelfID, string(k.Role), k.PeerID); err != nil {
			return res, err
		}
	}
	for _, n := range []struct{ flow, nonce string }{
		{FlowReceived, st.Received}, {FlowHS, st.HSNonce}, {FlowSent, st.Sent},
	} {
		if n.nonce == "" || (n.flow == FlowReceived && st.Write && !st.ClearPairNonces) {
			continue // empty, or already recorded with the row
		}
		if _, err := tx.ExecContext(ctx, s.q.recordNonce, k.SelfID, string(k.Role), k.PeerID, n.flow, n.nonce, s.timeArg(s.now())); err != nil {
			return res, err
		}
	}
	return res, nil
}

// casInTx writes st.Next if the row is still at its version, recording
// st.Received with it. outcome is ErrConflict, ErrReplay or ErrNotFound
// when nothing was written.
func (s *Store) casInTx(ctx context.Context, tx *sqlx.Tx, st Step) (RoleState, error, error) {
	k, next := st.Key, st.Next
	var row roleRow
	var err error
	switch {
	case st.Received != "" && s.dialect == DialectPostgres:
		// One statement: the nonce is recorded only if the row is still at
		// the version, and the row moves only if the nonce was new.
		args := []any{k.SelfID, string(k.Role), k.PeerID, next.Version,
			k.SelfID, string(k.Role), k.PeerID, FlowReceived, st.Received, s.timeArg(s.now())}
		args = append(args, s.updateSetArgs(next)...)
		args = append(args, k.SelfID, string(k.Role), k.PeerID, next.Version)
		err = tx.GetContext(ctx, &row, s.q.updateRecordingNonce, args...)
	case st.Received != "":
		// SQLite: the writer holds the database lock from BEGIN, so a check
		// then an insert sees no other writer in between.
		seen, lerr := s.nonceLogged(ctx, tx, k, FlowReceived, st.Received)
		if lerr != nil || seen {
			return RoleState{}, replayResult(k, FlowReceived, st.Received).Err, lerr
		}
		if err = tx.GetContext(ctx, &row, s.q.updateRole, append(s.updateSetArgs(next), k.SelfID, string(k.Role), k.PeerID, next.Version)...); err == nil {
			_, err = tx.ExecContext(ctx, s.q.recordNonce, k.SelfID, string(k.Role), k.PeerID, FlowReceived, st.Received, s.timeArg(s.now()))
		}
	default:
		err = tx.GetContext(ctx, &row, s.q.updateRole, append(s.updateSetArgs(next), k.SelfID, string(k.Role), k.PeerID, next.Version)...)
	}
	if err == nil {
		return next.stored(row), nil, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return RoleState{}, nil, err
	}
	outcome, err := s.casOutcome(ctx, tx, st)
	return RoleState{}, outcome, err
}

// casOutcome explains a compare-and-set that wrote nothing: missing row,
// then replay, then conflict (as UpdateRecordingNonce documents).
func (s *Store) casOutcome(ctx context.Context, tx *sqlx.Tx, st Step) (outcome, err error) {
	k := st.Key
	var version sql.NullInt64
	var recorded int
	// An empty nonce matches no row: the query still reads the version.
	err = tx.QueryRowxContext(ctx, s.q.updateNonceOutcome, k.SelfID, string(k.Role), k.PeerID,
		k.SelfID, string(k.Role), k.PeerID, FlowReceived, st.Received).Scan(&version, &recorded)
	switch {
	case err != nil:
		return nil, err
	case !version.Valid:
		return fmt.Errorf("%w: %s", ErrNotFound, k.label()), nil
	case st.Received != "" && recorded == 1:
		return replayResult(k, FlowReceived, st.Received).Err, nil
	default:
		return fmt.Errorf("%w: %s at version %d", ErrConflict, k.label(), st.Next.Version), nil
	}
}

func (s *Store) nonceLogged(ctx context.Context, tx *sqlx.Tx, k Key, flow, nonce string) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, s.q.nonceExists, k.SelfID, string(k.Role), k.PeerID, flow, nonce)
	return n > 0, err
}

// hsNonceSeenSQL: an hs nonce counts once per agent, whichever role and
// peer it was logged under, so an hs lifted from one pair and re-addressed
// to another is a replay (issue 12 item 1; index ix_nonce_event_hs_self).
const hsNonceSeenSQL = `SELECT count(*) FROM nonce_event WHERE self_id = ? AND flow = 'hs' AND nonce = ?`

func (s *Store) hsNonceSeen(ctx context.Context, tx *sqlx.Tx, selfID, nonce string) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(hsNonceSeenSQL), selfID, nonce)
	return n > 0, err
}

func replayResult(k Key, flow, nonce string) StepResult {
	return StepResult{ReplayFlow: flow, Err: fmt.Errorf("%w: %s nonce %q for %s", ErrReplay, flow, nonce, k.label())}
}

package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// PrepareParam is the DSN parameter that turns server-side prepared
// statements for the hot compare-and-set path off (PostgreSQL only):
// postgres://...?hsfleet_prepare=off. They are on by default. The store
// removes the parameter before lib/pq sees the DSN.
//
// Parsing and planning the wide UPDATE costs the server about as much as
// executing it (docs/database.md has the figures), so the store prepares
// its hot statements with SQL PREPARE and runs them with EXECUTE. That
// works through PgBouncer in transaction mode, whatever its version,
// because the statements are content-addressed (hotStatement): a server
// connection either has a statement under that name, and then it is this
// very text, or it does not, and the store prepares it there.
const PrepareParam = "hsfleet_prepare"

// takePrepareParam strips PrepareParam from a postgres DSN and reports
// whether prepared statements are on (the default).
func takePrepareParam(dsn string) (string, bool, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", false, fmt.Errorf("%w: postgres DSN is not a URL", ErrUnsupportedDSN)
	}
	q := u.Query()
	if !q.Has(PrepareParam) {
		return dsn, true, nil
	}
	v := strings.ToLower(q.Get(PrepareParam))
	q.Del(PrepareParam)
	u.RawQuery = q.Encode()
	switch v {
	case "on", "true", "yes", "1":
		return u.String(), true, nil
	case "off", "false", "no", "0":
		return u.String(), false, nil
	}
	return "", false, fmt.Errorf("%w: %s must be on or off", ErrUnsupportedDSN, PrepareParam)
}

// hotStatement is one statement the store runs as EXECUTE name(literals).
//
// The name is a hash of the text, so it is the same in every agent and
// every store version that runs the same text, and different for any other
// text: on a server connection that PgBouncer shares between clients, a
// statement found under the name is always the one wanted. Arguments are
// sent as literals (sqlliteral.go) in a simple Query message, because
// PostgreSQL does not take protocol parameters for EXECUTE: one message,
// one round trip, and the server parses only the short EXECUTE.
type hotStatement struct {
	name    string
	prepare string // PREPARE name AS query
	// generic runs the EXECUTE after genericPlanSQL, in the same message.
	generic bool
}

// genericPlanSQL makes the server use (and keep) the prepared statement's
// generic plan for the rest of this transaction only. Sent in the same
// simple Query message as the EXECUTE, both run in one implicit
// transaction, so SET LOCAL holds for the EXECUTE and ends with it: no
// session state, safe behind PgBouncer in transaction mode.
//
// Why: PostgreSQL's plan cache takes the generic plan only when its
// estimated cost is close to the custom plans'. For the batch statement
// the generic plan estimates each unnest of a parameter array at 10 rows,
// the custom plans see the real 1-8, so it re-plans on every call (a
// 9-CTE statement: planning costs more than running it). The plan's shape
// (an index lookup per step) does not depend on the batch size, so the
// generic plan is the right one; docs/database.md has the figures.
const genericPlanSQL = "SET LOCAL plan_cache_mode = force_generic_plan; "

func newHotStatement(query string) *hotStatement {
	sum := sha256.Sum256([]byte(query))
	name := "hsfleet_" + hex.EncodeToString(sum[:10])
	return &hotStatement{name: name, prepare: "PREPARE " + name + " AS " + query}
}

// execute builds EXECUTE name(args...), after a server-side timeout for
// ctx's call deadline (servertimeout.go). Build it on the connection that
// runs it, so the timeout counts from when it is sent.
func (h *hotStatement) execute(ctx context.Context, args []any) (string, error) {
	var b strings.Builder
	b.Grow(len(serverTimeoutSQL) + 8 + len(genericPlanSQL) + len(h.name) + 16 + 24*len(args))
	writeServerTimeout(&b, ctx)
	if h.generic {
		b.WriteString(genericPlanSQL)
	}
	b.WriteString("EXECUTE ")
	b.WriteString(h.name)
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := appendLiteral(&b, a); err != nil {
			return "", err
		}
	}
	b.WriteByte(')')
	return b.String(), nil
}

// prepareHot turns on EXECUTE for the statements of the compare-and-set
// loop (read, update, update recording a nonce) and for the group commit's
// batch statement. Nothing is prepared yet: a statement is prepared on a
// server connection the first time it is missing there. The batch runs
// with its generic plan when the server has plan_cache_mode (PostgreSQL
// 12 and later).
func (s *Store) prepareHot(ctx context.Context) {
	s.prepared = map[string]*hotStatement{}
	for _, q := range []string{s.q.getRole, s.q.updateRole, s.q.updateRecordingNonce, applyStepsPGQuery} {
		s.prepared[q] = newHotStatement(q)
	}
	var version int
	err := s.w.GetContext(ctx, &version, `SELECT current_setting('server_version_num')::int`)
	if err != nil {
		s.log.Warn("store: cannot read the server version; the batch statement keeps custom plans", "error", err)
		return
	}
	s.prepared[applyStepsPGQuery].generic = version >= 120000
}

// getOne runs a one-row query on the writer pool, as EXECUTE when it is
// one of the hot statements and prepared statements are on.
func (s *Store) getOne(ctx context.Context, dest any, query string, args ...any) error {
	return s.runHot(ctx, query, args, func(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) error {
		return sqlx.GetContext(ctx, q, dest, query, args...)
	})
}

// getReturned runs a compare-and-set statement (RETURNING roleReturned)
// like getOne, scanning its five columns straight into row: no reflective
// column mapping, which cost about a tenth of the client's CPU per
// transition (docs/database.md). As EXECUTE it runs on the driver's
// connection itself (rawcas.go), without database/sql's Rows.
func (s *Store) getReturned(ctx context.Context, row *roleRow, query string, args ...any) error {
	if h := s.prepared[query]; h != nil {
		return s.runReturnedRaw(ctx, h, args, row)
	}
	return s.runHot(ctx, query, args, func(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) error {
		return q.QueryRowxContext(ctx, query, args...).Scan(&row.Cycles, &row.LastCycleAt, &row.Version, &row.CreatedAt, &row.UpdatedAt)
	})
}

// hotRun runs one statement on q (the pool, a pinned connection or a
// transaction) under ctx and reads its whole result. It may be called
// twice (see runHot), so it must not keep anything from a failed call.
type hotRun func(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) error

// runHot runs query through run on the writer (onWriter: bounded at the
// socket when ctx has a deadline): as EXECUTE name(literals) when it is a
// hot statement and prepared statements are on, else as given. A server
// connection that lacks the statement refuses the EXECUTE before running
// anything, and then prepareAndRun prepares it there and runs it again.
func (s *Store) runHot(ctx context.Context, query string, args []any, run hotRun) error {
	h := s.prepared[query]
	if h == nil {
		return s.onWriter(ctx, func(ctx context.Context, w writer) error { return run(ctx, w, query, args...) })
	}
	return s.onWriter(ctx, func(ctx context.Context, w writer) error {
		exec, err := h.execute(ctx, args)
		if err != nil {
			return err
		}
		err = run(ctx, w, exec)
		if !isMissingStatement(err) {
			return err
		}
		return s.prepareAndRun(ctx, w, h, exec, run)
	})
}

// prepareAndRun prepares h on a server connection that lacks it and runs
// exec there. It is one transaction so that PgBouncer (transaction mode)
// keeps one server connection for all of it; the name may already exist
// there (another client of PgBouncer prepared it since), so it checks
// first. A prepared statement outlives the transaction, whether it commits
// or not.
func (s *Store) prepareAndRun(ctx context.Context, w writer, h *hotStatement, exec string, run hotRun) error {
	tx, err := w.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op after Commit
	var have bool
	if err := tx.GetContext(ctx, &have, `SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = $1)`, h.name); err != nil {
		return err
	}
	if !have {
		if _, err := tx.ExecContext(ctx, h.prepare); err != nil {
			return fmt.Errorf("prepare %s: %w", h.name, err)
		}
	}
	// No row (a compare-and-set that lost) commits too, as the
	// autocommitted EXECUTE would have; the caller sees sql.ErrNoRows.
	err = run(ctx, tx, exec)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if cerr := tx.Commit(); cerr != nil {
		return cerr
	}
	return err
}

// isMissingStatement: EXECUTE of a name this server connection has not
// prepared (SQLSTATE 26000, invalid_sql_statement_name).
func isMissingStatement(err error) bool { return hasSQLState(err, "26000") }

// hasSQLState reports whether err is a server error with SQLSTATE code.
func hasSQLState(err error, code string) bool {
	if err == nil {
		return false // before pe: its address escapes, an allocation per call
	}
	var pe *pq.Error
	return errors.As(err, &pe) && string(pe.Code) == code
}

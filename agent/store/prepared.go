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
}

func newHotStatement(query string) *hotStatement {
	sum := sha256.Sum256([]byte(query))
	name := "hsfleet_" + hex.EncodeToString(sum[:10])
	return &hotStatement{name: name, prepare: "PREPARE " + name + " AS " + query}
}

// execute builds EXECUTE name(args...).
func (h *hotStatement) execute(args []any) (string, error) {
	var b strings.Builder
	b.Grow(len(h.name) + 16 + 24*len(args))
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
// loop (read, update, update recording a nonce). Nothing is sent yet: a
// statement is prepared on a server connection the first time it is
// missing there.
func (s *Store) prepareHot() {
	s.prepared = map[string]*hotStatement{}
	for _, q := range []string{s.q.getRole, s.q.updateRole, s.q.updateRecordingNonce} {
		s.prepared[q] = newHotStatement(q)
	}
}

// getOne runs a one-row query on the writer pool, as EXECUTE when it is
// one of the hot statements and prepared statements are on.
func (s *Store) getOne(ctx context.Context, dest any, query string, args ...any) error {
	h := s.prepared[query]
	if h == nil {
		return s.w.GetContext(ctx, dest, query, args...)
	}
	exec, err := h.execute(args)
	if err != nil {
		return err
	}
	err = s.w.GetContext(ctx, dest, exec)
	if !isMissingStatement(err) {
		return err
	}
	return s.prepareAndGet(ctx, h, dest, exec)
}

// prepareAndGet prepares h on a server connection that lacks it and runs
// exec there. It is one transaction so that PgBouncer (transaction mode)
// keeps one server connection for all of it; the name may already exist
// there (another client of PgBouncer prepared it since), so it checks
// first. A prepared statement outlives the transaction, whether it commits
// or not.
func (s *Store) prepareAndGet(ctx context.Context, h *hotStatement, dest any, exec string) error {
	tx, err := s.w.BeginTxx(ctx, nil)
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
	err = tx.GetContext(ctx, dest, exec)
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
func isMissingStatement(err error) bool {
	var pe *pq.Error
	return err != nil && errors.As(err, &pe) && pe.Code == "26000"
}

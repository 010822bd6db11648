package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"
)

// PrepareParam is the DSN parameter that turns on server-side prepared
// statements for the hot compare-and-set path (PostgreSQL only):
// postgres://...?hsfleet_prepare=on. The store removes it before lib/pq
// sees the DSN.
//
// Parsing and planning the wide UPDATE costs the server almost as much as
// executing it; a prepared statement cut the server CPU of a transition by
// ~40% (docs/database.md has the figures). It is off
// by default because lib/pq names statements "1", "2", ... per connection:
// behind PgBouncer in transaction mode (before 1.21's
// max_prepared_statements) an Execute can land on a server connection where
// another client's statement has the same name. Turn it on only for direct
// connections, or PgBouncer ≥ 1.21 with max_prepared_statements > 0.
const PrepareParam = "hsfleet_prepare"

// takePrepareParam strips PrepareParam from a postgres DSN and reports
// whether it asked for prepared statements.
func takePrepareParam(dsn string) (string, bool, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", false, fmt.Errorf("%w: postgres DSN is not a URL", ErrUnsupportedDSN)
	}
	q := u.Query()
	if !q.Has(PrepareParam) {
		return dsn, false, nil
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

// prepareHot prepares the statements of the compare-and-set loop (read,
// update, update recording a nonce). database/sql prepares each on every
// pooled connection that runs it, and again after a reconnect.
func (s *Store) prepareHot(ctx context.Context) error {
	s.prepared = map[string]*sqlx.Stmt{}
	for _, q := range []string{s.q.getRole, s.q.updateRole, s.q.updateRecordingNonce} {
		st, err := s.w.PreparexContext(ctx, q)
		if err != nil {
			s.closePrepared()
			return fmt.Errorf("store: prepare: %w", err)
		}
		s.prepared[q] = st
	}
	return nil
}

func (s *Store) closePrepared() {
	for _, st := range s.prepared {
		st.Close()
	}
	s.prepared = nil
}

// getOne runs a one-row query on the writer pool, prepared when it is one
// of the hot statements and prepared statements are on.
func (s *Store) getOne(ctx context.Context, dest any, query string, args ...any) error {
	if st := s.prepared[query]; st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return s.w.GetContext(ctx, dest, query, args...)
}

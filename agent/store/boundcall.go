package store

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// writer is what a store call needs of the writer pool, or of one
// connection pinned from it (*sqlx.DB and *sqlx.Conn both are).
type writer interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
}

var (
	_ writer = (*sqlx.DB)(nil)
	_ writer = (*sqlx.Conn)(nil)
)

// onWriter runs fn on the writer pool. When ctx has a deadline and the
// pool is PostgreSQL's (timedconn.go), it is bounded without a goroutine
// per query: the wait for a connection honours ctx, then fn runs on that
// connection with a boundCtx, whose deadline is enforced at the socket.
// fn must use the ctx and writer it is given.
//
// A cancellation of ctx before its deadline (an agent shutting down) is
// then seen only while waiting for a connection, not during the query:
// the query still ends by the deadline.
func (s *Store) onWriter(ctx context.Context, fn func(ctx context.Context, w writer) error) error {
	return s.onPool(ctx, s.w, fn)
}

// onReader is onWriter on the reader pool (the same pool on PostgreSQL).
func (s *Store) onReader(ctx context.Context, fn func(ctx context.Context, w writer) error) error {
	return s.onPool(ctx, s.r, fn)
}

func (s *Store) onPool(ctx context.Context, db *sqlx.DB, fn func(ctx context.Context, w writer) error) error {
	dl, ok := ctx.Deadline()
	if !ok || !s.socketDeadlines {
		return fn(ctx, db)
	}
	c, err := db.Connx(ctx)
	if err != nil {
		return err
	}
	defer c.Close() // back to the pool; a timed-out connection is discarded
	return fn(&boundCtx{Context: ctx, deadline: dl}, c)
}

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"
)

// The compare-and-set transition is the agent's hottest store call. Its
// EXECUTE carries every argument as a literal, so it needs none of what
// database/sql adds to a query: argument conversion, a Rows with its
// locks and close bookkeeping, convertAssign's reflection on Scan, and
// sqlx's wrappers. runReturnedRaw pins one pooled connection and runs the
// EXECUTE on lib/pq's connection itself (driver.QueryerContext), reading
// the five returned columns straight from the driver's values.

// runReturnedRaw runs h with args (as EXECUTE) and scans its RETURNING
// roleReturned row into row; sql.ErrNoRows when the compare-and-set wrote
// nothing. A server connection that lacks h gets it prepared there
// (prepareAndRun), as runHot does.
func (s *Store) runReturnedRaw(ctx context.Context, h *hotStatement, args []any, row *roleRow) error {
	err := s.onDriverConn(ctx, func(ctx context.Context, q driver.QueryerContext) error {
		exec, err := h.execute(ctx, args)
		if err != nil {
			return err
		}
		return scanReturned(ctx, q, exec, row)
	})
	if !isMissingStatement(err) {
		return err
	}
	// Rare (once per server connection): the pinned connection is back in
	// the pool, so prepareAndRun may take it, even from a pool of one.
	return s.onWriter(ctx, func(ctx context.Context, w writer) error {
		exec, err := h.execute(ctx, args)
		if err != nil {
			return err
		}
		return s.prepareAndRun(ctx, w, h, exec, func(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) error {
			return q.QueryRowxContext(ctx, query, args...).Scan(&row.Cycles, &row.LastCycleAt, &row.Version, &row.CreatedAt, &row.UpdatedAt)
		})
	})
}

// onDriverConn pins one connection of the writer pool and runs fn on the
// driver's connection. A deadline is bounded as onPool does: the wait for
// the connection honours ctx, the query runs with a boundCtx (no Done
// channel, so lib/pq starts no watcher) and the deadline is on the socket.
func (s *Store) onDriverConn(ctx context.Context, fn func(ctx context.Context, q driver.QueryerContext) error) error {
	c, err := s.w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close() // back to the pool; a timed-out connection is discarded
	if dl, ok := ctx.Deadline(); ok && s.socketDeadlines {
		ctx = &boundCtx{Context: ctx, deadline: dl}
	}
	return c.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("store: driver connection %T cannot run queries", dc)
		}
		return fn(ctx, q)
	})
}

// scanReturned runs query on one driver connection and reads at most one
// row of (cycles, last_cycle_at, version, created_at, updated_at).
func scanReturned(ctx context.Context, q driver.QueryerContext, query string, row *roleRow) error {
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return err
	}
	var v [5]driver.Value
	if n := len(rows.Columns()); n != len(v) {
		rows.Close()
		return fmt.Errorf("store: compare-and-set returned %d columns, want %d", n, len(v))
	}
	err = rows.Next(v[:])
	if errors.Is(err, io.EOF) {
		err = sql.ErrNoRows
	}
	if cerr := rows.Close(); err == nil || errors.Is(err, sql.ErrNoRows) && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if row.Cycles, err = int64Value(v[0], "cycles"); err != nil {
		return err
	}
	if row.Version, err = int64Value(v[2], "version"); err != nil {
		return err
	}
	if err := row.LastCycleAt.Scan(v[1]); err != nil {
		return err
	}
	if err := row.CreatedAt.Scan(v[3]); err != nil {
		return err
	}
	return row.UpdatedAt.Scan(v[4])
}

// int64Value is a bigint column as lib/pq decodes it. Values from the
// server are untrusted: anything else is an error, never a zero.
func int64Value(v driver.Value, column string) (int64, error) {
	if n, ok := v.(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf("store: column %s is %T, not a bigint", column, v)
}

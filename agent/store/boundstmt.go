package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// The hot statements ask the server to end them before their deadline
// (servertimeout.go), so a timeout keeps its connection. The other calls
// the agent makes with a deadline (its agents row, EnsureRoles, List,
// DeleteUnusedRole) do the same here: onWriter bounds them at the socket,
// and boundStatement sends each as one simple Query message that starts
// with SET LOCAL statement_timeout. A message of several statements takes
// no protocol parameters, so the arguments go as literals
// (sqlliteral.go), as EXECUTE's do: one round trip, where lib/pq's
// unnamed statement takes two.
//
// Only when the store sends literals at all (prepared statements on): with
// hsfleet_prepare=off a statement keeps its protocol parameters and only
// the socket bounds it, as the hot statements then are.

// boundStatement is what to send for query and args under ctx: the
// server's timeout and query with literals when ctx is bounded at the
// socket (a boundCtx), else query and args as given.
func (s *Store) boundStatement(ctx context.Context, query string, args []any) (string, []any, error) {
	if s.prepared == nil {
		return query, args, nil
	}
	if _, ok := socketDeadline(ctx); !ok {
		return query, args, nil
	}
	var b strings.Builder
	b.Grow(len(serverTimeoutSQL) + 8 + len(query) + 24*len(args))
	writeServerTimeout(&b, ctx)
	if err := bindLiterals(&b, query, args); err != nil {
		return "", nil, err
	}
	return b.String(), nil, nil
}

func (s *Store) execBound(ctx context.Context, e sqlx.ExecerContext, query string, args ...any) (sql.Result, error) {
	query, args, err := s.boundStatement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return e.ExecContext(ctx, query, args...)
}

func (s *Store) selectBound(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	query, args, err := s.boundStatement(ctx, query, args)
	if err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, q, dest, query, args...)
}

// setTxServerTimeout bounds each later statement of tx, on the server, by
// what is left of ctx's deadline now. A transaction of several statements
// may so run past the deadline in total; the socket then ends it. No
// literals are involved, so it holds with hsfleet_prepare=off too.
func setTxServerTimeout(ctx context.Context, tx *sqlx.Tx) error {
	var b strings.Builder
	writeServerTimeout(&b, ctx)
	if b.Len() == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, b.String())
	return err
}

var errUnboundable = errors.New("store: statement cannot take literal arguments")

// bindLiterals writes query with each $n replaced by args[n-1] as a
// literal. It reads the store's own statements only: quoted strings and
// identifiers are copied as they are, and what it cannot read with
// certainty (a backslash, a comment, dollar quoting) is refused, not
// guessed at.
func bindLiterals(b *strings.Builder, query string, args []any) error {
	used := 0
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '\\':
			return fmt.Errorf("%w: a backslash", errUnboundable)
		case '\'', '"':
			// A doubled quote inside is read as the end of one quoted
			// run and the start of the next: copied all the same.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				return fmt.Errorf("%w: an unterminated quote", errUnboundable)
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case '-', '/':
			if i+1 < len(query) && (query[i+1] == '-' && c == '-' || query[i+1] == '*' && c == '/') {
				return fmt.Errorf("%w: a comment", errUnboundable)
			}
			b.WriteByte(c)
		case '$':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(query[i+1 : j])
			if err != nil || n < 1 || n > len(args) {
				return fmt.Errorf("%w: %q with %d arguments", errUnboundable, query[i:j], len(args))
			}
			if err := appendArgLiteral(b, args[n-1]); err != nil {
				return err
			}
			used = max(used, n)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	if used != len(args) {
		return fmt.Errorf("%w: %d arguments for %d parameters", errUnboundable, len(args), used)
	}
	return nil
}

// appendArgLiteral is appendLiteral with a negative number in
// parentheses: after a minus sign, "-1" would start a comment.
func appendArgLiteral(b *strings.Builder, v any) error {
	var neg bool
	switch x := v.(type) {
	case int:
		neg = x < 0
	case int64:
		neg = x < 0
	}
	if !neg {
		return appendLiteral(b, v)
	}
	b.WriteByte('(')
	err := appendLiteral(b, v)
	b.WriteByte(')')
	return err
}

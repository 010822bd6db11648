package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// A call whose deadline passes at the socket (timedconn.go) costs the
// connection: the reply may be half read, so it is discarded, the server
// backend keeps running the statement until it next writes to the dead
// socket, and the next call forks a new backend. Under overload, when
// many calls time out together, that is a reconnect storm on a server
// that is already the bottleneck (docs/database.md, "The server ends a
// timed-out call").
//
// So the hot statements (prepared.go) ask the server to end them first:
// their simple Query message starts with SET LOCAL statement_timeout, a
// little shorter than what is left of the call's deadline. The server
// cancels the statement, rolls back its implicit transaction and answers
// with an error (SQLSTATE 57014) the connection survives; the call fails
// as a timeout, and nothing of it was committed. The socket deadline
// stays as the backstop for a server that cannot even answer.
//
// The socket's deadline is later than the call's (backstop): on a
// CPU-starved client (a hundred agents on two cores) the server's answer
// often sits in the socket buffer past the call's deadline because the
// client was not scheduled to read it. Failing the read then would throw
// away a good answer and the connection with it.
//
// SET LOCAL in the same message ends with the statement's transaction: no
// session state, safe behind PgBouncer in transaction mode. PostgreSQL 13
// and later time each statement of a multi-statement message on its own,
// so the SET applies to the EXECUTE after it; older servers time the
// whole message from before the SET, and then only the socket bounds it.

const (
	// serverMarginMax is the most a server timeout is set short of the
	// call's deadline: time for the server's error to reach the client.
	serverMarginMax = 250 * time.Millisecond
	// backstopMax is the most the socket's deadline is set past the
	// call's.
	backstopMax = time.Second
	// serverTimeoutMin: with less left, the SET is not worth sending and
	// the socket deadline alone ends the call.
	serverTimeoutMin = 10 * time.Millisecond
)

// serverTimeoutSQL precedes the timeout in milliseconds and "; ".
const serverTimeoutSQL = "SET LOCAL statement_timeout = "

// serverTimeout is the statement_timeout for a statement sent at now
// under a call deadline dl: a fifth of what is left, at most
// serverMarginMax, is kept for the answer.
func serverTimeout(now, dl time.Time) (time.Duration, bool) {
	left := dl.Sub(now)
	t := left - min(left/5, serverMarginMax)
	if t < serverTimeoutMin {
		return 0, false
	}
	return t, true
}

// backstop is the socket deadline for a call sent at now with deadline
// dl: half of what is left past dl, at most backstopMax. A call that ends
// there lost its connection; the server's timeout should have ended it
// first.
func backstop(now, dl time.Time) time.Time {
	return dl.Add(min(max(dl.Sub(now)/2, 0), backstopMax))
}

// writeServerTimeout starts a simple Query message with the SET LOCAL
// for ctx's call deadline, when ctx has one (a boundCtx).
func writeServerTimeout(b *strings.Builder, ctx context.Context) {
	dl, ok := socketDeadline(ctx)
	if !ok {
		return
	}
	t, ok := serverTimeout(time.Now(), dl)
	if !ok {
		return
	}
	b.WriteString(serverTimeoutSQL)
	b.WriteString(strconv.FormatInt(t.Milliseconds(), 10))
	b.WriteString("; ")
}

// isServerCancel: the server cancelled the statement (SQLSTATE 57014,
// query_canceled): its statement_timeout, or an operator's
// pg_cancel_backend. Either way the connection is sound.
func isServerCancel(err error) bool { return hasSQLState(err, "57014") }

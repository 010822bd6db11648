package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"time"

	"github.com/lib/pq"
)

// A store call with a deadline used to cost two goroutines per query:
// database/sql (Rows.awaitDone) and lib/pq (watchCancel) each start one to
// watch the context, and each is woken when the query ends. That was 14
// allocations and 3-28 µs of client CPU per call, more than anything else
// the client does for a transition (docs/database.md).
//
// Instead, a call with a deadline runs with a context that has no Done
// channel (boundCtx), so neither starts a watcher, and the deadline is put
// on the connection's socket (timedConn): a read or write past it fails
// with a timeout at the net.Conn, lib/pq gives up on the connection, and
// this wrapper makes sure database/sql never hands it out again. The hot
// statements also ask the server to give up a little earlier, which keeps
// the connection (servertimeout.go).

// boundCtx is what the store hands database/sql for one call on a pinned
// connection: the caller's values, no Done (so nothing watches it) and
// the call's deadline for timedConn to put on the socket. Its Deadline
// reports none on purpose: the context itself never ends, the socket does.
type boundCtx struct {
	context.Context // the caller's; only its values are used
	deadline        time.Time
}

type boundCtxKey struct{}

func (c *boundCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *boundCtx) Done() <-chan struct{}       { return nil }
func (c *boundCtx) Err() error                  { return nil }

func (c *boundCtx) Value(key any) any {
	if key == (boundCtxKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// socketDeadline is the deadline a boundCtx carries, if ctx is one.
func socketDeadline(ctx context.Context) (time.Time, bool) {
	if b, ok := ctx.Value(boundCtxKey{}).(*boundCtx); ok {
		return b.deadline, true
	}
	return time.Time{}, false
}

// callTimeoutError is what a call gets when its deadline passed while the
// server had not answered (a stalled or overloaded server, a lock wait, a
// lost network path). errors.Is(err, context.DeadlineExceeded) holds, and
// it is a net.Error whose Timeout() is true.
type callTimeoutError struct{ cause error }

func (e *callTimeoutError) Error() string {
	if e.cause == nil {
		return "store call deadline exceeded before the query was sent"
	}
	return "store call deadline exceeded: " + e.cause.Error()
}

func (e *callTimeoutError) Unwrap() []error {
	if e.cause == nil {
		return []error{context.DeadlineExceeded}
	}
	return []error{context.DeadlineExceeded, e.cause}
}

func (e *callTimeoutError) Timeout() bool   { return true }
func (e *callTimeoutError) Temporary() bool { return true }

// timedConnector opens lib/pq connections whose socket timedConn can put
// a deadline on.
type timedConnector struct {
	cfg pq.Config
}

func newTimedConnector(dsn string) (*timedConnector, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, err
	}
	return &timedConnector{cfg: cfg}, nil
}

// Connect dials through a dialer of its own so it learns which socket the
// new connection reads from (lib/pq keeps it unexported).
func (t *timedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := pq.NewConnectorConfig(t.cfg)
	if err != nil {
		return nil, err
	}
	d := &capturingDialer{}
	c.Dialer(d)
	dc, err := c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if d.last == nil {
		// Not a dialled socket (cannot happen with lib/pq today): no
		// deadlines, but a usable connection.
		return dc, nil
	}
	return &timedConn{inner: dc, sock: d.last}, nil
}

func (t *timedConnector) Driver() driver.Driver { return &pq.Driver{} }

// capturingDialer is net.Dialer that remembers its last connection.
type capturingDialer struct {
	d    net.Dialer
	last net.Conn
}

func (c *capturingDialer) Dial(network, address string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, address)
}

func (c *capturingDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.DialContext(ctx, network, address)
}

func (c *capturingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := c.d.DialContext(ctx, network, address)
	if err == nil {
		c.last = conn
	}
	return conn, err
}

// timedConn is a lib/pq connection plus its socket. database/sql uses a
// connection from one goroutine at a time, so its fields need no lock.
type timedConn struct {
	inner    driver.Conn
	sock     net.Conn
	armed    bool      // the socket has a deadline
	deadline time.Time // the socket's deadline, when armed
	bad      bool      // a call timed out: the protocol state is unknown
}

// arm puts the socket deadline for ctx's call deadline on the connection
// (a little later: backstop), or clears a previous one, before a call. A
// call deadline already past fails the call without touching the
// connection.
func (c *timedConn) arm(ctx context.Context) error {
	if c.bad {
		return driver.ErrBadConn
	}
	dl, ok := socketDeadline(ctx)
	if !ok {
		if c.armed {
			c.armed = false
			return c.sock.SetDeadline(time.Time{})
		}
		return nil
	}
	now := time.Now()
	if !now.Before(dl) {
		return &callTimeoutError{}
	}
	c.armed, c.deadline = true, backstop(now, dl)
	return c.sock.SetDeadline(c.deadline)
}

// check turns a timeout into a callTimeoutError. One at the socket
// retires the connection: a reply may be half read, so nothing else may
// use it. One the server enforced (its statement_timeout, set by
// servertimeout.go) leaves the connection sound.
//
// lib/pq does not always pass the socket's timeout on: a COMMIT whose
// read timed out returns driver.ErrBadConn. Any failure of the connection
// itself once the deadline has passed is therefore the deadline's doing,
// and reported as a timeout, not as a lost server (connerr.go), which
// would flush the pool.
func (c *timedConn) check(err error) error {
	if err == nil || !c.armed {
		return err // before isNetTimeout: its errors.As target escapes, an allocation per call
	}
	if isNetTimeout(err) || errors.Is(err, driver.ErrBadConn) && !time.Now().Before(c.deadline) {
		c.bad = true
		callTimeouts.WithLabelValues(endedBySocket).Inc()
		return &callTimeoutError{cause: err}
	}
	if isServerCancel(err) {
		callTimeouts.WithLabelValues(endedByServer).Inc()
		return &callTimeoutError{cause: err}
	}
	return err
}

func (c *timedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	rows, err := c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil || !c.armed {
		return rows, c.check(err)
	}
	// The rest of the reply is read by Next and Close, under the same
	// deadline.
	return &timedRows{Rows: rows, c: c}, nil
}

func (c *timedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	res, err := c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	return res, c.check(err)
}

func (c *timedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	return st, c.check(err)
}

func (c *timedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	tx, err := c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, c.check(err)
	}
	return &timedTx{inner: tx, c: c}, nil
}

func (c *timedConn) Ping(ctx context.Context) error {
	if err := c.arm(ctx); err != nil {
		return err
	}
	return c.check(c.inner.(driver.Pinger).Ping(ctx))
}

func (c *timedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *timedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *timedConn) Close() error { return c.inner.Close() }

func (c *timedConn) ResetSession(ctx context.Context) error {
	if c.bad {
		return driver.ErrBadConn
	}
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *timedConn) IsValid() bool {
	return !c.bad && c.inner.(driver.Validator).IsValid()
}

func (c *timedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.inner.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// timedTx: COMMIT and ROLLBACK run under the deadline of the
// transaction's last statement.
type timedTx struct {
	inner driver.Tx
	c     *timedConn
}

func (t *timedTx) Commit() error   { return t.c.check(t.inner.Commit()) }
func (t *timedTx) Rollback() error { return t.c.check(t.inner.Rollback()) }

// timedRows reads a reply under its call's deadline: a timeout while
// reading rows is a timeout like one while waiting for the first.
type timedRows struct {
	driver.Rows
	c *timedConn
}

func (r *timedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == io.EOF {
		return err // the end of the rows, not a failure
	}
	return r.c.check(err)
}

func (r *timedRows) Close() error { return r.c.check(r.Rows.Close()) }

var (
	_ driver.QueryerContext     = (*timedConn)(nil)
	_ driver.ExecerContext      = (*timedConn)(nil)
	_ driver.ConnPrepareContext = (*timedConn)(nil)
	_ driver.ConnBeginTx        = (*timedConn)(nil)
	_ driver.Pinger             = (*timedConn)(nil)
	_ driver.SessionResetter    = (*timedConn)(nil)
	_ driver.Validator          = (*timedConn)(nil)
	_ driver.NamedValueChecker  = (*timedConn)(nil)
)

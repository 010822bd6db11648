package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// isConnectionError reports errors that mean the server or the path to it
// went away (restart, failover, network), as opposed to a bad query.
func isConnectionError(err error) bool {
	var netErr net.Error
	var state interface{ SQLState() string }
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// A call's own deadline (timedconn.go), even when it ended at
		// the socket: the server may just be slow.
		return false
	case isNetTimeout(err):
		// A read or dial past a deadline lib/pq set, e.g. connect_timeout
		// while a server too busy to fork a backend in time answers a new
		// connection's startup: slow, not gone. Taking it for a lost
		// server flushed every idle connection, and the reconnects that
		// followed loaded the server more (a storm at 100 agents).
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &state):
		// 08: connection exception; 57P01-03: admin/crash shutdown, starting up.
		code := state.SQLState()
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P")
	}
	return false
}

// flushIdleEvery rate-limits pool flushes during an outage.
const flushIdleEvery = time.Second

// flushIdleConns closes every idle PostgreSQL connection after a
// connection error: when the server restarted, each pooled connection is
// dead and would otherwise fail one more operation before database/sql
// drops it. Dropping them at once makes recovery immediate.
func (s *Store) flushIdleConns() {
	now := time.Now().UnixNano()
	last := s.lastFlush.Load()
	if now-last < int64(flushIdleEvery) || !s.lastFlush.CompareAndSwap(last, now) {
		return
	}
	s.w.SetMaxIdleConns(0) // closes the idle connections
	s.w.SetMaxIdleConns(s.maxIdle)
	s.log.Info("store connection lost; dropped idle connections", "dialect", s.dialect)
}

// isNetTimeout: a network operation ran past a deadline.
func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

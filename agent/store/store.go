package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Options tunes Open. The zero value is what Open uses.
type Options struct {
	// Logger receives failures with stable keys (op, dialect, error, agent_id).
	// Default: slog.Default().
	Logger *slog.Logger
	// MaxOpenConns caps the PostgreSQL pool of one agent; a fleet of N
	// agents holds up to N*MaxOpenConns server connections. Default 8.
	MaxOpenConns int
	// Now is the clock for created_at/updated_at and nonce TTLs.
	// Default: time.Now.
	Now func() time.Time
	// AsyncCommit (PostgreSQL only) runs the sessions with
	// synchronous_commit=off: a commit returns before its WAL reaches disk,
	// so a server crash can lose the last commits (up to 3 x
	// wal_writer_delay, ~0.6 s by default) as a consistent tail: never a
	// torn or partial transaction, and each lost transaction loses all of
	// its rows together. Off by default: a returned write is durable. A DSN
	// that sets synchronous_commit itself wins.
	AsyncCommit bool
}

const defaultMaxOpenConns = 8

// DefaultAgentMaxConns is an agent's default pool: one connection for its
// writes and one for reads, so a fleet of N agents costs about 2N server
// connections (or 2N client connections to PgBouncer).
const DefaultAgentMaxConns = 2

// Store is safe for concurrent use.
type Store struct {
	dialect string
	w       *sqlx.DB // writes
	r       *sqlx.DB // reads; the same pool as w on PostgreSQL
	q       queries
	log     *slog.Logger
	now     func() time.Time
	closed  atomic.Bool

	prepared map[string]*hotStatement // by query; nil with hsfleet_prepare=off and on SQLite
	maxIdle  int                      // PostgreSQL pool size, restored after a flush
	// socketDeadlines: the writer pool's connections are timedConns, so
	// onWriter bounds a call at the socket instead of watching its context.
	socketDeadlines bool
	lastFlush       atomic.Int64 // unix ns of the last idle-connection flush
}

// Open connects to the DSN's database and migrates its schema.
// "postgres://..." selects PostgreSQL (lib/pq), "sqlite:PATH" SQLite.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWithOptions(ctx, dsn, Options{})
}

// OpenWithOptions is Open with a logger, pool size and clock.
func OpenWithOptions(ctx context.Context, dsn string, opts Options) (*Store, error) {
	dialect, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = defaultMaxOpenConns
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{dialect: dialect, log: opts.Logger.With("component", "store"), now: opts.Now}
	prepare := false
	switch dialect {
	case DialectPostgres:
		if target, prepare, err = takePrepareParam(target); err != nil {
			return nil, err
		}
		if target, err = postgresDSN(target, opts); err != nil {
			return nil, err
		}
		s.w, err = openPostgres(ctx, target, opts.MaxOpenConns)
		s.r, s.maxIdle, s.socketDeadlines = s.w, opts.MaxOpenConns, true
	case DialectSQLite:
		s.w, s.r, err = openSQLite(ctx, target)
	}
	if err != nil {
		return nil, err
	}
	s.q = buildQueries(dialect, s.w.Rebind)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if dialect == DialectPostgres && opts.AsyncCommit {
		s.warnIfSyncCommit(ctx)
	}
	if prepare {
		s.prepareHot(ctx)
	}
	return s, nil
}

// Dialect is DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }

// Close releases the connection pools. Operations after Close return
// ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

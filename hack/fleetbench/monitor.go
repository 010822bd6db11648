package main

import (
	"context"
	"database/sql"
	"fmt"
)

// dbSample is one look at the server and the fleet's rows.
type dbSample struct {
	pairsDone   int64 // directed pairs whose initiator completed >= 1 cycle
	cycles      int64 // initiator-side completed cycles (one per cycle)
	xactCommit  int64 // pg_stat_database.xact_commit of the fleet database
	connections int64 // client backends on the server, ours excluded
	// verified is the initiator rows' verified_cycles: cycles
	// authenticated end to end (docs/protocol.md §7.4). hasVerified is
	// false for a binary whose schema has no such column.
	verified    int64
	hasVerified bool
}

// monitor queries one database over a single connection; it counts its own
// transactions so they can be taken out of the commit figure.
type monitor struct {
	db          *sql.DB
	dbName      string
	ownCommits  int64
	ownSessions int64
	hasVerified bool // role_state.verified_cycles exists (migration 0004)
}

func newMonitor(ctx context.Context, dsn, dbName string) (*monitor, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("monitor: connect: %w", err)
	}
	return &monitor{db: db, dbName: dbName, ownSessions: 1}, nil
}

func (m *monitor) close() { m.db.Close() }

// sample reads the server's counters, then the fleet's rows once the
// first agent has created the schema.
func (m *monitor) sample(ctx context.Context) (dbSample, error) {
	var s dbSample
	var hasTable bool
	m.ownCommits++
	// A backend flushes its pg_stat_database counters at most every second,
	// so the commit figure lags by about a second.
	err := m.db.QueryRowContext(ctx, `SELECT
			(SELECT xact_commit FROM pg_stat_database WHERE datname = $1),
			(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
			to_regclass('role_state') IS NOT NULL`, m.dbName).
		Scan(&s.xactCommit, &s.connections, &hasTable)
	s.connections -= m.ownSessions
	if err != nil || !hasTable {
		return s, err
	}
	if !m.hasVerified {
		m.ownCommits++
		if err := m.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
				WHERE table_name = 'role_state' AND column_name = 'verified_cycles')`).Scan(&m.hasVerified); err != nil {
			return s, err
		}
	}
	m.ownCommits++
	if !m.hasVerified {
		err = m.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE cycles > 0), COALESCE(sum(cycles), 0)
			FROM role_state WHERE role = 'initiator'`).Scan(&s.pairsDone, &s.cycles)
		return s, err
	}
	s.hasVerified = true
	err = m.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE cycles > 0), COALESCE(sum(cycles), 0),
			COALESCE(sum(verified_cycles), 0)
		FROM role_state WHERE role = 'initiator'`).Scan(&s.pairsDone, &s.cycles, &s.verified)
	return s, err
}

// serverSetting reads one setting, e.g. max_connections, for the report.
func (m *monitor) serverSetting(ctx context.Context, name string) string {
	var v string
	m.ownCommits++
	if err := m.db.QueryRowContext(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
		return "?"
	}
	return v
}

// hotUpdates reads role_state's update counters: an update that is not HOT
// (heap-only tuple) also writes every index of the table.
func (m *monitor) hotUpdates(ctx context.Context) (updates, hot int64, err error) {
	m.ownCommits++
	err = m.db.QueryRowContext(ctx, `SELECT COALESCE(sum(n_tup_upd), 0), COALESCE(sum(n_tup_hot_upd), 0)
		FROM pg_stat_user_tables WHERE relname = 'role_state'`).Scan(&updates, &hot)
	return updates, hot, err
}

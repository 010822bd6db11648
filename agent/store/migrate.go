package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFS embed.FS

// migrateLockKey is the pg_advisory_xact_lock key shared by every hsfleet
// process migrating the same database (an arbitrary constant: "hsfleet").
const migrateLockKey int64 = 0x6873666c656574

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/<dialect>/NNNN_name.sql in version
// order and insists the versions run 1, 2, 3 ... without gaps.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := migrationFS.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", dialect, err)
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %s is not NNNN_name.sql", e.Name())
		}
		body, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: %s migrations jump to version %d at position %d", dialect, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate brings the schema to the newest version. Each migration and its
// schema_version row commit together, so a crash mid-way leaves the
// database at a clean version. Concurrent migrators are serialized per
// migration transaction: on PostgreSQL by a transaction-level advisory lock
// (released by COMMIT or ROLLBACK, so it also works through PgBouncer in
// transaction mode, where a session-level lock and its unlock could land on
// different server connections), on SQLite by its write lock (BEGIN
// IMMEDIATE).
func (s *Store) migrate(ctx context.Context) (err error) {
	defer s.observe("migrate", time.Now(), &err)
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	applied := 0
	for _, m := range ms {
		done, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return err
		}
		if done {
			applied++
		}
	}
	migrationsApplied.WithLabelValues(s.dialect).Add(float64(applied))
	if applied > 0 {
		s.log.Info("store schema migrated", "dialect", s.dialect, "applied", applied, "version", len(ms))
	}
	s.warnIfNewer(ctx, conn, len(ms))
	return nil
}

func (s *Store) createVersionTable() string {
	ts := "TIMESTAMPTZ NOT NULL DEFAULT now()"
	if s.dialect == DialectSQLite {
		ts = "TEXT NOT NULL"
	}
	return `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + ts + `)`
}

// applyMigration applies m unless schema_version already holds it; the
// check runs inside the transaction so a concurrent SQLite migrator that
// waited on the write lock sees the other's work.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migration %d: begin: %w", m.version, err)
	}
	defer tx.Rollback()
	if s.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return false, fmt.Errorf("store: migration %d: take advisory lock: %w", m.version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.createVersionTable()); err != nil {
		return false, fmt.Errorf("store: create schema_version: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.w.Rebind(`SELECT count(*) FROM schema_version WHERE version = ?`), m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("store: read schema_version: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.w.Rebind(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, s.timeArg(s.now())); err != nil {
		return false, fmt.Errorf("store: record migration %d: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migration %d: commit: %w", m.version, err)
	}
	return true, nil
}

// warnIfNewer: a newer binary already migrated this database. Migrations
// only add, so an older agent keeps working during a rolling upgrade; say
// so instead of refusing to start.
func (s *Store) warnIfNewer(ctx context.Context, conn *sql.Conn, known int) {
	var max sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&max); err != nil {
		return
	}
	if max.Valid && max.Int64 > int64(known) {
		s.log.Warn("store schema is newer than this binary", "dialect", s.dialect, "schema_version", max.Int64, "known_version", known)
	}
}

// SchemaVersion returns the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

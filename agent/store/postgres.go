package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// connMaxIdleTime closes a pooled connection unused this long. An agent
// cycling back to back never idles that long; one on a slow cadence
// reconnects once per cycle (a few ms), which is cheap next to holding a
// server backend for nothing. A variable only so a test can shorten it.
var connMaxIdleTime = 30 * time.Second

func openPostgres(ctx context.Context, dsn string, maxConns int) (*sqlx.DB, error) {
	// lib/pq through timedConnector, so a call's deadline can be put on
	// its connection's socket (timedconn.go).
	conn, err := newTimedConnector(dsn)
	if err != nil {
		// lib/pq's DSN errors do not repeat the password.
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	// Recycle connections so a failover or restart does not leave a pool of
	// dead ones, and idle agents give connections back to the server (or to
	// PgBouncer) soon: a fleet's connection budget counts only busy agents.
	db.SetConnMaxIdleTime(connMaxIdleTime)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	return db, nil
}

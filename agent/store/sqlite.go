package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// busyTimeoutMS bounds how long a statement waits for another process's
// write lock before SQLITE_BUSY.
const busyTimeoutMS = 10000

// openSQLite opens one writer connection and a small reader pool on the
// same file. A single writer means goroutines in this process queue in
// database/sql instead of failing with SQLITE_BUSY; _txlock=immediate
// takes the write lock at BEGIN, so a transaction never has to upgrade a
// read lock (which WAL can refuse without waiting); busy_timeout covers
// other processes on the same file. WAL lets readers run beside the writer.
// synchronous=NORMAL in WAL mode survives a process crash; a power loss can
// lose the last commits, acceptable for the embedded demo store.
func openSQLite(ctx context.Context, path string) (w, r *sqlx.DB, err error) {
	busy := fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS)
	readPragmas := url.Values{"_pragma": {busy, "query_only(1)"}}
	pragmas := url.Values{"_pragma": {busy}}
	if path != sqliteMemory {
		pragmas.Add("_pragma", "journal_mode(WAL)")
		pragmas.Add("_pragma", "synchronous(NORMAL)")
	}
	pragmas.Set("_txlock", "immediate")
	w, err = sqlx.Open("sqlite", path+"?"+pragmas.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0) // an in-memory database lives as long as its connection
	w.SetConnMaxIdleTime(0)
	if err := pingSQLite(ctx, w); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if path == sqliteMemory {
		return w, w, nil // a second pool would see a different, empty database
	}
	r, err = sqlx.Open("sqlite", path+"?"+readPragmas.Encode())
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return w, r, nil
}

// pingSQLite opens the first connection, retrying while another process or
// Store holds the lock: switching a fresh file to WAL takes an exclusive lock
// and SQLite reports SQLITE_BUSY for it without calling the busy handler.
func pingSQLite(ctx context.Context, db *sqlx.DB) error {
	deadline := time.Now().Add(busyTimeoutMS * time.Millisecond)
	for backoff := 5 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

func isSQLiteBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

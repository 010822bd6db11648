// Package store keeps the agents' per-pair handshake state in SQL: one
// role_state row per (self_id, role, peer_id), the nonce log (nonce_event)
// and agent liveness (agents). It is the only package in hsfleet that
// speaks SQL.
//
// Two dialects sit behind one API, chosen by the DSN:
//
//   - "postgres://..." (or postgresql://): PostgreSQL via lib/pq, the shared
//     production store. Open adds binary_parameters=yes unless the DSN sets
//     it (one round trip per statement instead of two). Unknown URL
//     parameters are sent as session settings; Options.AsyncCommit (or
//     "&synchronous_commit=off") trades the last ~0.6 s of commits on a
//     server crash for several times the write throughput (BenchmarkStore).
//   - "sqlite:PATH", "sqlite:///abs/path" or "sqlite::memory:": SQLite via the
//     pure-Go modernc.org/sqlite (no cgo), the embedded default for
//     `hsfleet demo`. WAL, one writer connection per Store, busy_timeout for
//     other processes on the same file.
//
// Open applies the versioned migrations (migrations/<dialect>/NNNN_*.sql,
// recorded in schema_version); on PostgreSQL each runs under a
// transaction-level advisory lock, so a fleet starting at once migrates
// exactly once, also through PgBouncer in transaction mode.
//
// Concurrency: Update is compare-and-set on RoleState.Version and returns
// ErrConflict when the row moved; RecordNonceOnce is one atomic
// INSERT ... ON CONFLICT DO NOTHING; UpdateRecordingNonce is both at once,
// all or nothing (ErrReplay, ErrConflict); BumpCycles is an atomic
// increment that does not move Version.
//
// Durability: every write is one autocommit statement (DeleteAgentState and
// UpdateRecordingNonce on SQLite one transaction) with the server's
// settings; on a default PostgreSQL that is synchronous_commit=on, so a
// returned write survives a server crash. Options.AsyncCommit turns that
// off per session for agents (see its comment for why that is safe there).
//
// All times are stored and returned in UTC, truncated to microseconds (the
// precision of timestamptz), so a value read back equals the value written.
//
// Metrics (Collectors) are hsfleet_store_operations_total{op,dialect,result},
// hsfleet_store_operation_duration_seconds{op,dialect} and
// hsfleet_store_migrations_applied_total{dialect}; the process registers them.
package store

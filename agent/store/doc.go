// Package store keeps the agents' per-pair handshake state in SQL: one
// role_state row per (self_id, role, peer_id), the nonce log (nonce_event)
// and agent liveness (agents). It is the only package in hsfleet that
// speaks SQL.
//
// Two dialects sit behind one API, chosen by the DSN: PostgreSQL via
// lib/pq ("postgres://...", the shared production store) and SQLite via the
// pure-Go modernc.org/sqlite ("sqlite:PATH", the embedded default for
// `hsfleet demo`). Open applies the versioned schema migrations; on
// PostgreSQL they run under an advisory lock so a fleet starting at once
// migrates exactly once.
//
// All times are stored and returned in UTC, truncated to microseconds (the
// precision of PostgreSQL timestamptz), so a value read back equals the
// value written.
package store

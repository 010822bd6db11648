-- Same as migrations/postgres/0004_verified_cycles.sql: cycles
-- authenticated end to end (docs/protocol.md §7.4). Times are fixed-width
-- UTC text, as everywhere in this schema.
ALTER TABLE role_state ADD COLUMN verified_cycles INTEGER NOT NULL DEFAULT 0;
ALTER TABLE role_state ADD COLUMN last_verified_at TEXT;

-- Same schema as migrations/postgres/0001_init.sql. STRICT tables enforce
-- column types; times are fixed-width UTC text (2006-01-02T15:04:05.000000Z),
-- so text order is time order.
CREATE TABLE IF NOT EXISTS role_state (
    id                   INTEGER PRIMARY KEY,
    self_id              TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('initiator', 'responder')),
    peer_id              TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    local_nonce          TEXT,
    peer_nonce           TEXT,
    local_reference      TEXT,
    peer_reference       TEXT,
    exchange_count       INTEGER NOT NULL DEFAULT 0,
    finalize_retry_count INTEGER NOT NULL DEFAULT 0,
    peer_address         TEXT,
    peer_sign_pub        TEXT,
    peer_kx_pub          TEXT,
    hs_derived_at        TEXT,
    last_secure_at       TEXT,
    cycles               INTEGER NOT NULL DEFAULT 0,
    last_cycle_at        TEXT,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_role_peer ON role_state (self_id, peer_id, role);
CREATE INDEX IF NOT EXISTS ix_role_state_peer ON role_state (peer_id);
CREATE INDEX IF NOT EXISTS ix_role_state_recent ON role_state (self_id, last_cycle_at DESC, peer_id, role);

CREATE TABLE IF NOT EXISTS nonce_event (
    id         INTEGER PRIMARY KEY,
    self_id    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),
    peer_id    TEXT NOT NULL,
    flow       TEXT NOT NULL CHECK (flow IN ('sent', 'received')),
    nonce      TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_nonce_event ON nonce_event (self_id, role, peer_id, flow, nonce);
CREATE INDEX IF NOT EXISTS ix_nonce_event_created ON nonce_event (created_at);
CREATE INDEX IF NOT EXISTS ix_nonce_event_peer ON nonce_event (peer_id);

CREATE TABLE IF NOT EXISTS agents (
    self_id          TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    namespace        TEXT NOT NULL DEFAULT '',
    sign_pub         TEXT NOT NULL DEFAULT '',
    kx_pub           TEXT NOT NULL DEFAULT '',
    software_version TEXT NOT NULL DEFAULT '',
    started_at       TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL
) STRICT;

-- Per-pair handshake state (HSAgent_1 role_state, extended with cycles,
-- last_cycle_at and a compare-and-set version).
CREATE TABLE IF NOT EXISTS role_state (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    self_id              TEXT        NOT NULL,
    role                 TEXT        NOT NULL CHECK (role IN ('initiator', 'responder')),
    peer_id              TEXT        NOT NULL,
    state                TEXT        NOT NULL,
    local_nonce          TEXT,
    peer_nonce           TEXT,
    local_reference      TEXT,
    peer_reference       TEXT,
    exchange_count       INTEGER     NOT NULL DEFAULT 0,
    finalize_retry_count INTEGER     NOT NULL DEFAULT 0,
    peer_address         TEXT,
    peer_sign_pub        TEXT,
    peer_kx_pub          TEXT,
    hs_derived_at        TIMESTAMPTZ,
    last_secure_at       TIMESTAMPTZ,
    cycles               BIGINT      NOT NULL DEFAULT 0,
    last_cycle_at        TIMESTAMPTZ,
    version              BIGINT      NOT NULL DEFAULT 1,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_role_peer UNIQUE (self_id, peer_id, role)
);
-- uq_role_peer serves key lookups, lookups by self_id, and grouping a
-- self_id's rows by peer (Summary totals).
-- Deleting an agent's state also matches rows where it is the peer.
CREATE INDEX IF NOT EXISTS ix_role_state_peer ON role_state (peer_id);
-- The operator's summary lists a self_id's rows most recent cycle first.
CREATE INDEX IF NOT EXISTS ix_role_state_recent ON role_state (self_id, last_cycle_at DESC NULLS LAST, peer_id, role);

CREATE TABLE IF NOT EXISTS nonce_event (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    self_id    TEXT        NOT NULL,
    role       TEXT        NOT NULL CHECK (role IN ('initiator', 'responder')),
    peer_id    TEXT        NOT NULL,
    flow       TEXT        NOT NULL CHECK (flow IN ('sent', 'received')),
    nonce      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- "Record once" is one INSERT ... ON CONFLICT DO NOTHING against this.
    CONSTRAINT uq_nonce_event UNIQUE (self_id, role, peer_id, flow, nonce)
);
CREATE INDEX IF NOT EXISTS ix_nonce_event_created ON nonce_event (created_at);
CREATE INDEX IF NOT EXISTS ix_nonce_event_peer ON nonce_event (peer_id);

CREATE TABLE IF NOT EXISTS agents (
    self_id          TEXT PRIMARY KEY,
    name             TEXT        NOT NULL,
    namespace        TEXT        NOT NULL DEFAULT '',
    sign_pub         TEXT        NOT NULL DEFAULT '',
    kx_pub           TEXT        NOT NULL DEFAULT '',
    software_version TEXT        NOT NULL DEFAULT '',
    started_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL
);

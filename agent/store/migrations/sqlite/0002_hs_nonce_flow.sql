-- hs nonces outlive a cycle (replay protection for the hs TTL), so they
-- are logged under their own flow, which DeletePairNonces leaves alone.
-- SQLite cannot alter a CHECK constraint: the table is rebuilt.
CREATE TABLE nonce_event_v2 (
    id         INTEGER PRIMARY KEY,
    self_id    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),
    peer_id    TEXT NOT NULL,
    flow       TEXT NOT NULL CHECK (flow IN ('sent', 'received', 'hs')),
    nonce      TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
INSERT INTO nonce_event_v2 (id, self_id, role, peer_id, flow, nonce, created_at)
    SELECT id, self_id, role, peer_id, flow, nonce, created_at FROM nonce_event;
DROP TABLE nonce_event;
ALTER TABLE nonce_event_v2 RENAME TO nonce_event;
CREATE UNIQUE INDEX uq_nonce_event ON nonce_event (self_id, role, peer_id, flow, nonce);
CREATE INDEX ix_nonce_event_created ON nonce_event (created_at);
CREATE INDEX ix_nonce_event_peer ON nonce_event (peer_id);

-- An hs nonce is accepted once per agent, whichever peer or role it came
-- under (issue 12 item 1: an hs re-addressed to another pair is a replay).
-- The group commit looks hs nonces up by (self_id, nonce); this index
-- serves that lookup. Not unique: rows logged before this migration may
-- repeat a nonce across pairs.
CREATE INDEX IF NOT EXISTS ix_nonce_event_hs_self ON nonce_event (self_id, nonce) WHERE flow = 'hs';

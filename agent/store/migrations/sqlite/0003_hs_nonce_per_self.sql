-- An hs nonce is accepted once per agent, whichever peer or role it came
-- under (issue 12 item 1). Serves the group commit's (self_id, nonce)
-- lookup; not unique, as rows from before may repeat a nonce across pairs.
CREATE INDEX IF NOT EXISTS ix_nonce_event_hs_self ON nonce_event (self_id, nonce) WHERE flow = 'hs';

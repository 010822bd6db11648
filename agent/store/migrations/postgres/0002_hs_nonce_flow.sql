-- hs nonces outlive a cycle (replay protection for the hs TTL), so they
-- are logged under their own flow, which DeletePairNonces leaves alone.
ALTER TABLE nonce_event DROP CONSTRAINT IF EXISTS nonce_event_flow_check;
ALTER TABLE nonce_event ADD CONSTRAINT nonce_event_flow_check CHECK (flow IN ('sent', 'received', 'hs'));

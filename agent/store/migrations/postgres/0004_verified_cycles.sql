-- Verified cycles (docs/protocol.md §7.4, issue 12): a cycle is verified
-- when it was authenticated end to end (both hs carried a valid bind, the
-- peer's sealed message confirmed the key, the counting finish/close had a
-- valid finalize MAC). cycles stays the total; unverified = cycles -
-- verified_cycles.
ALTER TABLE role_state ADD COLUMN IF NOT EXISTS verified_cycles BIGINT NOT NULL DEFAULT 0;
ALTER TABLE role_state ADD COLUMN IF NOT EXISTS last_verified_at TIMESTAMPTZ;

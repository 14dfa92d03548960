-- Tamper evidence: every event stores the hash of its predecessor and its own hash
-- (sha256 over the predecessor's hash and the event's stored text; see commands/src/store.rs).
-- The single `event_position` row, already locked by every append, also carries the hash of
-- the last event, so chaining needs no extra lock.
--
-- Events stored before this migration are not hashed (SQL cannot compute sha256 on both
-- backends, and hashing them later would vouch for rows nobody can vouch for any more): the
-- chain starts at the first event appended after it, `chain_start`.
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
ALTER TABLE event_position ADD COLUMN last_hash TEXT NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE event_position ADD COLUMN chain_start BIGINT NOT NULL DEFAULT 1;
UPDATE event_position SET chain_start = last + 1;

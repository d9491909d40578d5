-- The recipients of each outbox message, decided at ingest (see hub/src/recipients.rs):
-- [{"subscriber": "aalst"}, {"subscriber": "evergem", "entered": true}]. NULL for messages
-- recorded before this migration: those are published to every subscriber, as before.
ALTER TABLE outbox ADD COLUMN recipients jsonb;

-- What each subscriber's selector and field policy were when the hub last gave it what is in
-- its scope (hub/src/backfill.rs): a new or changed subscriber is backfilled from the
-- projection, a removed one's row is deleted.
CREATE TABLE subscriber_config (
    name        text PRIMARY KEY,
    fingerprint text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

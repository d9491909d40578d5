-- Messages a consumer has applied: (consumer, message id) is applied once. A row is
-- inserted in the same transaction as the effect's bookkeeping, so a redelivered or
-- concurrently delivered duplicate finds it (or waits for it) and is absorbed.
CREATE TABLE inbox (
    consumer      TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_processed_at ON inbox (processed_at);

-- Dead letters of the queues the hub consumes, drained from hub.dead.<queue> by every
-- replica (hub/src/dead_letters.rs): the original message (body, properties and headers,
-- enough to republish it faithfully), where it was first routed, the attempts and the last
-- error; and what an operator did with it. Bodies are full snapshots (INSZ included).
CREATE TABLE dead_letter (
    id                    BIGSERIAL PRIMARY KEY,
    -- The queue it died in (e.g. hub.deliver.aalst): a replay goes back there.
    queue                 TEXT NOT NULL,
    message_id            TEXT,
    message_type          TEXT,
    original_exchange     TEXT,
    original_routing_key  TEXT,
    -- {"message_id", "type", "correlation_id", "timestamp", "headers": {name: text | int}},
    -- as received from the dead-letter queue (hub-* and x-* headers included).
    properties            JSONB NOT NULL,
    body                  BYTEA NOT NULL,
    attempts              INTEGER NOT NULL,
    -- permanent | exhausted (the hub's own) | delivery_limit | rejected | expired | ... (the broker's)
    failure               TEXT NOT NULL,
    last_error            TEXT NOT NULL,
    dead_lettered_at      TIMESTAMPTZ NOT NULL,
    recorded_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    status                TEXT NOT NULL DEFAULT 'dead'
                          CHECK (status IN ('dead', 'replayed', 'discarded')),
    resolved_at           TIMESTAMPTZ,
    resolved_by           TEXT,
    -- A dead-letter delivery redelivered after its row committed (the ack was lost) is
    -- recorded once. Rows without a message id never conflict (NULLs are distinct): such a
    -- message may be recorded twice, never lost.
    CONSTRAINT dead_letter_once UNIQUE (queue, message_id, dead_lettered_at)
);
CREATE INDEX dead_letter_status ON dead_letter (status, id);
CREATE INDEX dead_letter_message_id ON dead_letter (message_id);

-- The audit trail: every operator action (dlq.replay, dlq.discard, resync), who, when, what.
CREATE TABLE operator_action (
    id      BIGSERIAL PRIMARY KEY,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  JSONB NOT NULL DEFAULT '{}',
    at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX operator_action_at ON operator_action (at);

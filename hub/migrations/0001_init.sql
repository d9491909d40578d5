-- The projection: the hub's own copy of each association, as last read from the register.
CREATE TABLE association (
    vcode       TEXT PRIMARY KEY,
    snapshot    JSONB NOT NULL,
    sequence    BIGINT NOT NULL,
    version     BIGINT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- How far the change feed has been read (one row).
CREATE TABLE register_checkpoint (
    id          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    sequence    BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Messages recorded in the same transaction as the change that caused them; the relay
-- publishes them in id order and marks them published once the broker confirmed.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    message_id      UUID NOT NULL UNIQUE,
    message_type    TEXT NOT NULL,
    vcode           TEXT NOT NULL,
    sequence        BIGINT NOT NULL,
    version         BIGINT,
    correlation_id  UUID NOT NULL,
    body            BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at    TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Detail documents the hub could not accept, for the operator (the reason only: the
-- document itself may hold personal data).
CREATE TABLE register_rejection (
    id           BIGSERIAL PRIMARY KEY,
    vcode        TEXT NOT NULL,
    sequence     BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Per subscriber and association: the newest sequence handled, and whether the
-- subscriber currently holds the association (its selector matched last time).
CREATE TABLE delivery_state (
    subscriber  TEXT NOT NULL,
    vcode       TEXT NOT NULL,
    sequence    BIGINT NOT NULL,
    in_scope    BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, vcode)
);

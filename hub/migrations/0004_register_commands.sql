-- Municipalities' commands to the register (hub/src/commands.rs). The register's beheer API
-- has no idempotency key, so the hub keeps one row per (municipality, commandId): a command
-- seen again after it finished gets the stored reply, and one whose earlier attempt has an
-- unknown outcome (a timeout, a crash) is sent again with the same If-Match and compared
-- with the register's snapshot when the register answers 412.
CREATE TABLE register_command (
    municipality   TEXT NOT NULL,
    command_id     UUID NOT NULL,
    v_code         TEXT,
    command_type   TEXT,
    -- Attempts started so far (incremented before each call to the register).
    attempts       INTEGER NOT NULL DEFAULT 0,
    -- The register version every attempt sends as If-Match (the command's expectedVersion,
    -- or the version read before the first attempt).
    base_version   BIGINT,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    -- accepted | rejected | conflicted, once done
    outcome        TEXT,
    -- The reply sent to the municipality (contracts::commands::Reply), once done.
    reply          JSONB,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ,
    PRIMARY KEY (municipality, command_id)
);

CREATE INDEX register_command_v_code ON register_command (v_code, received_at DESC);

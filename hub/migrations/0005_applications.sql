-- Service applications (hub/src/applications.rs): one row per application (the loket's
-- applicationId is the key: a resubmission never creates a second dossier), every
-- transition of its follow-up, and an outbox for what the hub publishes about applications
-- (status changes for the loket, applications handed to a provider's queue), written in the
-- same transaction as the state it announces.
CREATE TABLE application (
    application_id      UUID PRIMARY KEY,
    v_code              TEXT NOT NULL,
    service_code        TEXT NOT NULL,
    -- The provider adapter instance: kiosk, uldk, insurance, municipality:<name>.
    provider            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('ingediend', 'ontvangen',
                            'in_behandeling', 'goedgekeurd', 'afgewezen', 'ingetrokken')),
    provider_reference  TEXT,
    -- The application.submitted as received (applicant and fields; no association data).
    submitted           JSONB NOT NULL,
    -- A hash of what identifies the submission, to tell a resubmission from a conflicting
    -- reuse of the applicationId.
    fingerprint         TEXT NOT NULL,
    correlation_id      UUID NOT NULL,
    submitted_at        TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX application_v_code ON application (v_code, submitted_at DESC);
CREATE INDEX application_open ON application (status) WHERE status IN ('ontvangen', 'in_behandeling');

CREATE TABLE application_transition (
    id                  BIGSERIAL PRIMARY KEY,
    application_id      UUID NOT NULL REFERENCES application ON DELETE CASCADE,
    from_status         TEXT,
    to_status           TEXT NOT NULL,
    reason              TEXT,
    provider_reference  TEXT,
    at                  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX application_transition_application ON application_transition (application_id, id);

CREATE TABLE application_outbox (
    id              BIGSERIAL PRIMARY KEY,
    exchange        TEXT NOT NULL,
    routing_key     TEXT NOT NULL,
    message_type    TEXT NOT NULL,
    message_id      UUID NOT NULL,
    correlation_id  UUID NOT NULL,
    body            BYTEA NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at    TIMESTAMPTZ
);
CREATE INDEX application_outbox_pending ON application_outbox (id) WHERE published_at IS NULL;

-- An association's administrative history, besides its applications: the register changes
-- the hub took in (one row per changed snapshot, with the parts that changed).
CREATE TABLE association_history (
    id          BIGSERIAL PRIMARY KEY,
    v_code      TEXT NOT NULL,
    sequence    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    detail      JSONB NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX association_history_v_code ON association_history (v_code, id DESC);

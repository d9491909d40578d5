-- The subscriber's state before the last change of a row, written by the same upsert that
-- advances it: one statement both claims a (subscriber, vCode, sequence) and returns what
-- the subscriber had, and a failed delivery can put the row back.
ALTER TABLE delivery_state
    ADD COLUMN prev_sequence BIGINT,
    ADD COLUMN prev_in_scope BOOLEAN;

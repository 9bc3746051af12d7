-- One row per logged action: who did what, to whom, through which client, from where, with
-- what outcome. Append-only, like the log it is built from.
CREATE TABLE IF NOT EXISTS audit_trail (
    global_position bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    stream_id       text        NOT NULL,
    action          text        NOT NULL,
    outcome         text        NOT NULL,
    reason          text,
    actor           text        NOT NULL,
    actor_id        text,
    subject_user    text,
    workspace_id    text,
    client_id       text,
    resource        text,
    ip              text,
    user_agent      text,
    request_id      text,
    correlation_id  text,
    hash            bytea       NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_trail_subject_idx
    ON audit_trail (subject_user, occurred_at DESC, global_position DESC);
CREATE INDEX IF NOT EXISTS audit_trail_client_idx
    ON audit_trail (client_id, occurred_at DESC, global_position DESC);

CREATE OR REPLACE TRIGGER audit_trail_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE OR REPLACE TRIGGER audit_trail_refuse_truncate BEFORE TRUNCATE ON audit_trail
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

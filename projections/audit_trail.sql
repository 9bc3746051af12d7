-- One row per logged action: who did what, to whom, through which client, from where, with
-- what outcome. Append-only, like the log it is built from.

-- A table from before `seq` existed cannot be numbered in place (rows are never updated):
-- drop it and let the projector replay the log into the new shape from position 0.
DO $$
BEGIN
    IF to_regclass('audit_trail') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('audit_trail') AND attname = 'seq'
    ) THEN
        DROP TABLE audit_trail;
        DELETE FROM checkpoints WHERE name = 'audit_trail';
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS audit_trail (
    global_position bigint      PRIMARY KEY,
    -- The order the projector applied rows in (see audit_trail.py): the audit API pages by it,
    -- because a late commit can give a new row a lower global_position than rows shown already.
    seq             bigint      NOT NULL,
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
-- With the table, even while a rebuild replays: each batch continues from max(seq).
CREATE UNIQUE INDEX IF NOT EXISTS audit_trail_seq_key ON audit_trail (seq);

-- Rows are never truncated. They are deleted only through audit_trail_prune(), which names
-- its cutoff for its own transaction; the trigger holds every deleted row to it. They are
-- updated only through audit_trail_redact(), which names the erased person likewise; the
-- trigger lets through only their rows, with the address and user agent redacted and every
-- other column as it was.
CREATE OR REPLACE FUNCTION audit_trail_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('keyledger.audit_prune_before', true);
    erased text := current_setting('keyledger.audit_redact_subject', true);
    expected audit_trail;
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> '' THEN
        IF OLD.occurred_at < cutoff::timestamptz THEN
            RETURN OLD;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND coalesce(erased, '') <> ''
            AND (OLD.subject_user = erased OR OLD.actor = 'user' AND OLD.actor_id = erased) THEN
        expected := OLD;
        expected.ip := CASE WHEN OLD.ip IS NULL THEN NULL ELSE '[erased]' END;
        expected.user_agent := CASE WHEN OLD.user_agent IS NULL THEN NULL ELSE '[erased]' END;
        IF NEW IS NOT DISTINCT FROM expected THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'KL403';
END $$;

-- Retention (`keyledger audit prune`): drop rows that occurred before `cutoff`. The log keeps
-- every event, so a rebuild brings them back. The newest row always stays: the projector
-- numbers new rows from it.
CREATE OR REPLACE FUNCTION audit_trail_prune(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    pruned bigint;
BEGIN
    PERFORM set_config('keyledger.audit_prune_before', cutoff::text, true);
    DELETE FROM audit_trail
    WHERE occurred_at < cutoff AND seq < (SELECT max(seq) FROM audit_trail);
    GET DIAGNOSTICS pruned = ROW_COUNT;
    PERFORM set_config('keyledger.audit_prune_before', '', true);
    RETURN pruned;
END $$;

-- Erasure (`keyledger users erase`): the person's address and user agent read redacted, as
-- the log's sealed values do once their key is destroyed (schemas/personal_data.py).
CREATE OR REPLACE FUNCTION audit_trail_redact(subject text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    redacted bigint;
BEGIN
    PERFORM set_config('keyledger.audit_redact_subject', subject, true);
    UPDATE audit_trail
    SET ip = CASE WHEN ip IS NULL THEN NULL ELSE '[erased]' END,
        user_agent = CASE WHEN user_agent IS NULL THEN NULL ELSE '[erased]' END
    WHERE (subject_user = subject OR actor = 'user' AND actor_id = subject)
      AND (ip IS DISTINCT FROM '[erased]' AND ip IS NOT NULL
           OR user_agent IS DISTINCT FROM '[erased]' AND user_agent IS NOT NULL);
    GET DIAGNOSTICS redacted = ROW_COUNT;
    PERFORM set_config('keyledger.audit_redact_subject', '', true);
    RETURN redacted;
END $$;

CREATE OR REPLACE TRIGGER audit_trail_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION audit_trail_refuse_mutation();
CREATE OR REPLACE TRIGGER audit_trail_refuse_truncate BEFORE TRUNCATE ON audit_trail
    FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_refuse_mutation();

-- No query filters on an event's hash or id here: no statistics to gather (migration 0007).
ALTER TABLE audit_trail ALTER COLUMN hash SET STATISTICS 0, ALTER COLUMN event_id SET STATISTICS 0;

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('audit_trail');

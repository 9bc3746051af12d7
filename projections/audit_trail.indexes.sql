-- Indexes of the audit trail (audit_trail.sql): created with the table, and after the
-- replay when the projection is rebuilt.

-- Newest first, per user, client or workspace (the audit API's filters and pages). Most rows
-- are a client's tokens, with no user and often no workspace: the user and workspace indexes
-- leave those rows out (every query names the user or workspace it wants, which implies NOT
-- NULL), so issuing a token writes three index entries fewer. They replace the full indexes of
-- the same columns that earlier versions made.
DROP INDEX IF EXISTS audit_trail_user_seq_idx;
DROP INDEX IF EXISTS audit_trail_workspace_seq_idx;
DROP INDEX IF EXISTS audit_trail_user_tokens_idx;
CREATE INDEX IF NOT EXISTS audit_trail_user_seq_partial_idx ON audit_trail (subject_user, seq)
    WHERE subject_user IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_trail_client_seq_idx ON audit_trail (client_id, seq);
CREATE INDEX IF NOT EXISTS audit_trail_workspace_seq_partial_idx ON audit_trail (workspace_id, seq)
    WHERE workspace_id IS NOT NULL;
-- What a user did themselves (an erasure redacts it, beside the rows about them).
CREATE INDEX IF NOT EXISTS audit_trail_user_actor_idx ON audit_trail (actor_id)
    WHERE actor = 'user';
-- Investigations by action, by source address, and of failures only.
CREATE INDEX IF NOT EXISTS audit_trail_action_seq_idx ON audit_trail (action, seq);
CREATE INDEX IF NOT EXISTS audit_trail_ip_seq_idx ON audit_trail (ip, seq);
CREATE INDEX IF NOT EXISTS audit_trail_failure_seq_idx ON audit_trail (seq)
    WHERE outcome = 'failure';
-- Time windows (`from`/`to`): rows arrive roughly in time order, so a BRIN index is tiny.
CREATE INDEX IF NOT EXISTS audit_trail_occurred_brin ON audit_trail USING brin (occurred_at);
-- Point-in-time questions start from the streams that issued a user's or a client's tokens
-- within their longest lifetime before the instant, and from their consents; the stream id
-- is in the index, so finding thousands of them reads no table pages (rows never change, so
-- the visibility map stays set).
CREATE INDEX IF NOT EXISTS audit_trail_user_tokens_partial_idx
    ON audit_trail (subject_user, occurred_at) INCLUDE (stream_id)
    WHERE action IN ('access_token_issued', 'refresh_token_issued') AND subject_user IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_trail_client_tokens_idx
    ON audit_trail (client_id, occurred_at) INCLUDE (stream_id)
    WHERE action IN ('access_token_issued', 'refresh_token_issued');
CREATE INDEX IF NOT EXISTS audit_trail_user_consents_idx ON audit_trail (subject_user)
    INCLUDE (stream_id) WHERE action = 'consent_granted';
CREATE INDEX IF NOT EXISTS audit_trail_client_consents_idx ON audit_trail (client_id)
    INCLUDE (stream_id) WHERE action = 'consent_granted';

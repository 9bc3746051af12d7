-- One row per user and client: the consent in force, or the last one withdrawn. Async: the
-- account page and reports read it; nothing that grants or revokes does (the consent stream
-- and token_state decide those).
CREATE TABLE IF NOT EXISTS consents (
    user_id        text        NOT NULL,
    client_id      text        NOT NULL,
    -- The event's metadata's, else the client's (clients is inline, so always there first).
    workspace_id   text,
    -- Everything consented (a wider grant includes the earlier scopes); on a withdrawn row,
    -- what was withdrawn.
    scopes         text[]      NOT NULL,
    status         text        NOT NULL CHECK (status IN ('granted', 'withdrawn')),
    -- Since when the consent runs: its first grant after none or a withdrawal.
    granted_at     timestamptz NOT NULL,
    withdrawn_at   timestamptz,
    -- The last grant (a widening) or withdrawal applied, and its place in the consent stream:
    -- an event at or below it is never applied twice.
    updated_at     timestamptz NOT NULL,
    stream_version integer     NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('consents');

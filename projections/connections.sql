-- Connected third-party accounts: who owns each, its lifecycle, when its upstream tokens
-- expire, and what the scheduler has in hand. Inline: the callback finds a pending connection
-- by its state, and the scheduler never acts on a stale row. No token is here: they live
-- encrypted in upstream_tokens (migration 0006).
CREATE TABLE IF NOT EXISTS connections (
    connection_id      text        PRIMARY KEY,
    provider_id        text        NOT NULL,
    -- Who started it: the owner of a personal connection, the acting member of a workspace's.
    user_id            text        NOT NULL,
    -- Set: the connection belongs to this workspace.
    workspace_id       text,
    lifecycle          text        NOT NULL CHECK (lifecycle IN ('pending', 'failed', 'active',
                                   'needs_reauthentication', 'revoked', 'expired')),
    scopes             text[]      NOT NULL,
    -- While pending: the SHA-256 of the `state` the browser will bring back.
    state_digest       text        UNIQUE,
    started_at         timestamptz NOT NULL,
    start_expires_at   timestamptz NOT NULL,
    established_at     timestamptz,
    upstream_subject   text,
    access_expires_at  timestamptz,
    refresh_expires_at timestamptz,
    has_refresh        boolean     NOT NULL DEFAULT false,
    -- When the tokens held now were obtained (established or last refreshed).
    obtained_at        timestamptz,
    refresh_count      integer     NOT NULL DEFAULT 0,
    -- The open refresh claim, and whether the last attempt may have spent the refresh token.
    claim_attempt_id   text,
    claim_started_at   timestamptz,
    in_doubt           boolean     NOT NULL DEFAULT false,
    retry_at           timestamptz,
    failures           integer     NOT NULL DEFAULT 0,
    last_error         text,
    checked_at         timestamptz,
    last_health        text,
    refresh_requested  boolean     NOT NULL DEFAULT false,
    ended_at           timestamptz,
    end_reason         text,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_user_idx ON connections (user_id, started_at);
CREATE INDEX IF NOT EXISTS connections_workspace_idx ON connections (workspace_id, started_at);
CREATE INDEX IF NOT EXISTS connections_active_idx
    ON connections (updated_at) WHERE lifecycle = 'active';

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('connections');

-- Workspaces, their members and their API keys. Inline: a removed member or a revoked key
-- loses access the instant the event commits.
CREATE TABLE IF NOT EXISTS workspaces (
    workspace_id     text        PRIMARY KEY,
    name             text        NOT NULL,
    default_key_days integer     NOT NULL,
    max_key_days     integer     NOT NULL,
    unlimited_keys   boolean     NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS workspace_members (
    workspace_id text        NOT NULL,
    user_id      text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    status       text        NOT NULL CHECK (status IN ('invited', 'active')),
    since        timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX IF NOT EXISTS workspace_members_user_idx ON workspace_members (user_id);

-- Keys are found by the keyed digest of what is presented; the key itself is never stored.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id               text        PRIMARY KEY,
    workspace_id         text        NOT NULL,
    name                 text        NOT NULL,
    scopes               text[]      NOT NULL,
    key_digest           text        NOT NULL UNIQUE,
    previous_digest      text        UNIQUE,
    previous_valid_until timestamptz,
    created_by           text,
    created_at           timestamptz NOT NULL,
    rotated_at           timestamptz,
    expires_at           timestamptz,
    revoked_at           timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_workspace_idx ON api_keys (workspace_id, expires_at);

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('workspaces');
SELECT keyledger_isolate('workspace_members');
SELECT keyledger_isolate('api_keys');

-- Upstream providers that accounts are connected from. Inline: a provider is usable the
-- instant it is registered, and its name is unique (per workspace, or among the operator's)
-- because this table refuses a second one in the registration's own transaction.
CREATE TABLE IF NOT EXISTS providers (
    provider_id             text        PRIMARY KEY,
    name                    text        NOT NULL,
    workspace_id            text,
    -- The ProviderRegistered payload as logged: endpoints, client, policy (secret sealed).
    registration            bytea       NOT NULL,
    refresh_margin_s        integer     NOT NULL,
    max_token_age_s         integer,
    health_check_interval_s integer,
    -- It has an introspection or a userinfo endpoint to ask whether a grant still works.
    can_check               boolean     NOT NULL,
    registered_at           timestamptz NOT NULL,
    removed_at              timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS providers_name_key
    ON providers (coalesce(workspace_id, ''), name) WHERE removed_at IS NULL;

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('providers');

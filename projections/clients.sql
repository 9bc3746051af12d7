-- Registered OAuth clients as the token endpoint reads them. Inline: a suspension or a
-- secret rotation is in force the instant it commits.
CREATE TABLE IF NOT EXISTS clients (
    client_id              text        PRIMARY KEY,
    status                 text        NOT NULL CHECK (status IN ('active', 'suspended', 'banned')),
    -- The ClientRegistered payload as logged: configuration, lifetimes, redirect URIs.
    registration           bytea       NOT NULL,
    secret_digest          text,
    previous_secret_digest text,
    previous_valid_until   timestamptz,
    workspace_id           text,
    registered_at          timestamptz NOT NULL
);

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('clients');

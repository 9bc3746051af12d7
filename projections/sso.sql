-- Each workspace's single sign-on, its email domains and the identities linked through it.
-- Inline: a domain belongs to one workspace only (a second claim is refused in the
-- configuration's own transaction), and an (issuer, subject) names one account, also when
-- two first sign-ins race.
CREATE TABLE IF NOT EXISTS sso_configs (
    workspace_id  text        PRIMARY KEY,
    -- The SsoConfigured payload as logged: endpoints, client, mapping (secret sealed).
    configuration bytea       NOT NULL,
    required      boolean     NOT NULL,
    configured_at timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE IF NOT EXISTS sso_domains (
    domain       text PRIMARY KEY,
    workspace_id text NOT NULL
);
CREATE INDEX IF NOT EXISTS sso_domains_workspace_idx ON sso_domains (workspace_id);

CREATE TABLE IF NOT EXISTS sso_identities (
    issuer       text        NOT NULL,
    subject      text        NOT NULL,
    user_id      text        NOT NULL,
    workspace_id text        NOT NULL,
    linked_at    timestamptz NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS sso_identities_user_idx ON sso_identities (user_id);

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('sso_configs');
SELECT keyledger_isolate('sso_domains');
SELECT keyledger_isolate('sso_identities');

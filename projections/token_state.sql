-- Current token state, inline: written in the append's transaction, so a revocation is
-- effective the instant it commits. Tokens are keyed by their SHA-256 digest only.
CREATE TABLE IF NOT EXISTS token_state (
    token_digest text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('access', 'refresh')),
    jti          text,
    family_id    text        NOT NULL,
    client_id    text        NOT NULL,
    subject      text,
    scopes       text[]      NOT NULL,
    workspace_id text,
    grant_type   text        NOT NULL,
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    spent_at     timestamptz,
    -- The JWS kid that signed a JWT access token: revoking the key revokes it.
    kid          text
);

CREATE INDEX IF NOT EXISTS token_state_family_idx ON token_state (family_id);
-- Compaction finds expired families by expiry (projections/token_state_retention.py). Rows
-- arrive roughly in expiry order, so a BRIN index of a few pages does, at almost no cost to
-- each issued token (a B-tree would add a leaf insert per token).
CREATE INDEX IF NOT EXISTS token_state_expires_brin ON token_state USING brin (expires_at)
    WITH (autosummarize = on);
-- A digest is looked up through its unique key only: statistics on it would cost every
-- ANALYZE a sort of random strings and tell the planner nothing (see migration 0007).
ALTER TABLE token_state ALTER COLUMN token_digest SET STATISTICS 0;
CREATE UNIQUE INDEX IF NOT EXISTS token_state_jti_idx ON token_state (jti) WHERE jti IS NOT NULL;

-- Revocation predicates: every token of a client, of a user, of a user for one client
-- (consent withdrawn), signed by a key, or of a workspace's clients, issued up to
-- `revoked_before`, is dead. One row revokes them all.
CREATE TABLE IF NOT EXISTS token_revocations (
    kind           text        NOT NULL
                   CHECK (kind IN ('client', 'user', 'consent', 'signing_key', 'workspace')),
    key            text        NOT NULL,
    revoked_before timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

-- Workspace isolation (migration 0005): what a workspace's requests may see.
SELECT keyledger_isolate('token_state');

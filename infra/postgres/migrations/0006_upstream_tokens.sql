-- Upstream tokens of connected third-party accounts, and the keys they are encrypted under.
-- Neither is a projection: the log never holds a token, not even encrypted (DECISIONS.md 22),
-- so these rows are written in the same transaction as the event naming the tokens' digests.

-- AES-256-GCM keys, each sealed under the master key. One is current (new ciphertexts); a
-- previous one still opens what has not been encrypted again yet; a retired one is destroyed.
CREATE TABLE vault_keys (
    kid        text        PRIMARY KEY,
    sealed_key text,
    status     text        NOT NULL CHECK (status IN ('current', 'previous', 'retired')),
    created_at timestamptz NOT NULL,
    retired_at timestamptz,
    CHECK ((status = 'retired') = (sealed_key IS NULL))
);
CREATE UNIQUE INDEX vault_keys_one_current ON vault_keys ((true)) WHERE status = 'current';

CREATE TABLE upstream_tokens (
    connection_id text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('access', 'refresh')),
    kid           text        NOT NULL REFERENCES vault_keys (kid),
    -- "v1.<kid>.<base64url(nonce || ciphertext || tag)>", bound to (connection_id, kind).
    ciphertext    text        NOT NULL,
    -- SHA-256 of the token, as the events carry it: the log vouches for what is stored here.
    token_digest  text        NOT NULL,
    stored_at     timestamptz NOT NULL,
    PRIMARY KEY (connection_id, kind)
);
CREATE INDEX upstream_tokens_kid_idx ON upstream_tokens (kid);

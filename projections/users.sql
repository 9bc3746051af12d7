-- User accounts as sign-in reads them. Inline: the unique username is claimed in the
-- registration's own transaction, and a disabled account cannot sign in a moment later.
CREATE TABLE IF NOT EXISTS users (
    user_id             text        PRIMARY KEY,
    username            text        NOT NULL UNIQUE,
    password_hash       text,
    password_expires_at timestamptz,
    service_account     boolean     NOT NULL,
    otp_sealed          text,
    -- The last TOTP time step accepted: a code is never accepted twice (RFC 6238 5.2).
    last_otp_step       bigint,
    disabled            boolean     NOT NULL DEFAULT false,
    workspace_id        text,
    registered_at       timestamptz NOT NULL
);

-- Recent refused sign-ins per account (`user:<id>`) and per source address (`ip:<addr>`).
CREATE TABLE IF NOT EXISTS login_failures (
    key       text        NOT NULL,
    failed_at timestamptz NOT NULL
);
-- Accounts provisioned through single sign-on have no password (projections/users.py).
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

CREATE INDEX IF NOT EXISTS login_failures_key_idx ON login_failures (key, failed_at);

-- Addresses were counted in clear before they were digested (projections/users.py): those
-- rows would never be read nor dropped again.
DELETE FROM login_failures WHERE key LIKE 'ip:%' AND key !~ '^ip:[0-9a-f]{32}$';

-- Token signing keys. The private half is sealed (AES-256-GCM under the service's master
-- key); the log records only the public JWK (SigningKeyActivated).
CREATE TABLE signing_keys (
    kid            text        PRIMARY KEY,
    alg            text        NOT NULL,
    sealed_private text        NOT NULL,
    public_jwk     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Set when a newer key takes over: still published, no longer signing.
    retired_at     timestamptz
);

-- Revocations for resource servers: a signing key can be distrusted (it leaves the JWKS at
-- once and every token it signed is dead), which token state finds by the token's kid.
ALTER TABLE signing_keys ADD COLUMN revoked_at timestamptz;

-- Token state tables made before this migration (projections/token_state.sql creates them
-- in this shape on a new database): done once here, not under traffic on every start.
DO $$
BEGIN
    IF to_regclass('token_state') IS NOT NULL THEN
        ALTER TABLE token_state ADD COLUMN IF NOT EXISTS kid text;
    END IF;
    IF to_regclass('token_revocations') IS NOT NULL THEN
        ALTER TABLE token_revocations DROP CONSTRAINT IF EXISTS token_revocations_kind_check;
        ALTER TABLE token_revocations ADD CONSTRAINT token_revocations_kind_check
            CHECK (kind IN ('client', 'user', 'consent', 'signing_key', 'workspace'));
    END IF;
END
$$;

-- Signed checkpoints over the log (schemas/audit_checkpoint.py). Append-only, like `events`.

CREATE TABLE audit_checkpoints (
    seq            bigint      PRIMARY KEY CHECK (seq > 0),
    first_tx_id    xid8        NOT NULL,
    first_position bigint      NOT NULL,
    last_tx_id     xid8        NOT NULL,
    last_position  bigint      NOT NULL,
    event_count    integer     NOT NULL CHECK (event_count > 0),
    merkle_root    bytea       NOT NULL CHECK (octet_length(merkle_root) = 32),
    -- SHA-256 of the previous checkpoint's signed payload, and of this one's.
    prev_hash      bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (octet_length(hash) = 32),
    kid            text        NOT NULL,
    -- The compact JWS: the only column verification trusts; the others are for queries.
    jws            text        NOT NULL,
    sealed_at      timestamptz NOT NULL,
    -- The manifest: u64be tx_id || u64be position, and the hash, of each covered event in
    -- order. The signed root authenticates it; it names the event when a segment changes.
    order_keys     bytea       NOT NULL CHECK (octet_length(order_keys) = 16 * event_count),
    event_hashes   bytea       NOT NULL CHECK (octet_length(event_hashes) = 32 * event_count)
);

-- Which checkpoint covers an event: the first one ending at or after it.
CREATE UNIQUE INDEX audit_checkpoints_last_idx ON audit_checkpoints (last_tx_id, last_position);

-- A new checkpoint must extend the chain: seq 1 from the genesis hash, any later one from
-- the hash of the one before it, which must exist. Forks and gaps are refused at the source.
CREATE FUNCTION audit_checkpoints_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq = 1 THEN
        IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'checkpoint 1 must start from the genesis hash' USING ERRCODE = 'KL409';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM audit_checkpoints WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash
    ) THEN
        RAISE EXCEPTION 'checkpoint % does not extend checkpoint %', NEW.seq, NEW.seq - 1
            USING ERRCODE = 'KL409';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_checkpoints_extend_chain BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_extend_chain();
CREATE TRIGGER audit_checkpoints_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER audit_checkpoints_refuse_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

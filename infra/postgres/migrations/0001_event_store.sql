-- The append-only event log: the source of truth. See DESIGN.md, "The event store".

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    -- The msgspec JSON bytes exactly as hashed (jsonb would re-normalise them).
    data            bytea       NOT NULL,
    metadata        jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    prev_hash       bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- Followers read by transaction high-water mark, ordered by (tx_id, global_position).
CREATE INDEX events_tx_position_idx ON events (tx_id, global_position);

-- A new row must extend its stream's chain: version 1 starts from the genesis hash, any
-- later version names the hash of the version before it, which must exist. The store's
-- optimistic concurrency check and the hash chain are thereby one rule, held by the database.
CREATE FUNCTION events_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_version = 1 THEN
        IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'stream % must start from the genesis hash', NEW.stream_id
                USING ERRCODE = 'KL409';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM events
        WHERE stream_id = NEW.stream_id
          AND stream_version = NEW.stream_version - 1
          AND hash = NEW.prev_hash
    ) THEN
        RAISE EXCEPTION 'stream % is not at version % with the given head',
            NEW.stream_id, NEW.stream_version - 1
            USING ERRCODE = 'KL409';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER events_extend_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_extend_chain();

-- The log is immutable: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'KL403';
END $$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- Where each follower of the log (the relay, every async projection) has got to.
CREATE TABLE checkpoints (
    name            text        PRIMARY KEY,
    tx_id           xid8        NOT NULL,
    global_position bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

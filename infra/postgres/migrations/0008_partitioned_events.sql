-- The log, partitioned so that it can grow without bound (DECISIONS.md 29).
--
-- events                    LIST on the stream type (the id's prefix before its first '-')
--   events_ephemeral        the short-lived streams that make most of the log: token families,
--                           codes, sign-in attempts, refusals, rate-limit windows, audit reads
--     events_from_<lower>   RANGE on global_position, made ahead of need; old ones are
--                           archived whole (`keyledger log archive`), then dropped
--   events_kept             every other stream (users, clients, workspaces, keys...): their
--                           state is folded from their whole history, so it is never archived
--
-- PostgreSQL enforces no uniqueness across partitions, so a stream's head now lives in
-- `stream_heads`, which the chain trigger reads and moves in the append's transaction.
-- The rows are copied once, byte for byte, with their positions and transaction ids.

CREATE TABLE events_partitioned (
    global_position bigint      GENERATED ALWAYS AS IDENTITY,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    data            bytea       NOT NULL,
    metadata        jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    prev_hash       bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32)
) PARTITION BY LIST ((split_part(stream_id, '-', 1)));

CREATE TABLE events_ephemeral PARTITION OF events_partitioned
    FOR VALUES IN ('token_family', 'authorization', 'login', 'refusal', 'rate_limit', 'audit',
                   'incident')
    PARTITION BY RANGE (global_position);
ALTER TABLE events_ephemeral ADD PRIMARY KEY (global_position);

CREATE TABLE events_kept PARTITION OF events_partitioned DEFAULT;
ALTER TABLE events_kept ADD PRIMARY KEY (global_position);

-- One range partition of the ephemeral streams, [lower, upper). Made standalone, then
-- attached: attaching locks the parent in SHARE UPDATE EXCLUSIVE mode, which appends do not
-- wait for (CREATE ... PARTITION OF would take ACCESS EXCLUSIVE), and the check spares the
-- attach its scan.
CREATE FUNCTION events_attach_range(lower bigint, upper bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('events_from_%s', lower);
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE events_ephemeral INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK '
                   '(global_position >= %s AND global_position < %s)',
                   name, name || '_range', lower, upper);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN data SET STATISTICS 0, '
                   'ALTER COLUMN metadata SET STATISTICS 0, ALTER COLUMN hash SET STATISTICS 0, '
                   'ALTER COLUMN prev_hash SET STATISTICS 0, '
                   'ALTER COLUMN event_id SET STATISTICS 0', name);
    EXECUTE format('ALTER TABLE events_ephemeral ATTACH PARTITION %I '
                   'FOR VALUES FROM (%s) TO (%s)', name, lower, upper);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
END $$;

-- The upper bound of the newest range partition (1 when there is none).
CREATE FUNCTION events_ranges_end() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(max((regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                      'TO \(''?(\d+)''?\)'))[1]::bigint), 1)
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events_ephemeral'::regclass
$$;

-- The newest position handed out, by the sequence of the table named `events` (the old one
-- while this file migrates): a range partition below it gets no new rows.
CREATE FUNCTION events_newest_position() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.last_value, 0) FROM pg_sequences s
    WHERE format('%I.%I', s.schemaname, s.sequencename)::regclass
          = pg_get_serial_sequence('events', 'global_position')::regclass
$$;

-- Range partitions of `size` positions, until `ahead` of them lie past the newest position.
-- Returns how many it made; concurrent callers take turns.
CREATE FUNCTION events_add_partitions(size bigint, ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    newest bigint;
    upper  bigint;
    made   integer := 0;
BEGIN
    IF size < 1 OR ahead < 1 THEN
        RAISE EXCEPTION 'partition size and count ahead must be positive';
    END IF;
    PERFORM pg_advisory_xact_lock(1802268769);  -- 0x6B6C7061, "klpa"
    upper := events_ranges_end();
    newest := events_newest_position();
    WHILE upper <= newest + size * ahead LOOP
        PERFORM events_attach_range(upper, upper + size);
        upper := upper + size;
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;

-- Where every stream stands: what the chain trigger extends, in place of a unique index
-- across partitions. A row per stream, updated in place (HOT: no indexed column changes).
CREATE TABLE stream_heads (
    stream_id      text    PRIMARY KEY,
    version        integer NOT NULL,
    hash           bytea   NOT NULL,
    first_position bigint  NOT NULL,
    last_position  bigint  NOT NULL
) WITH (fillfactor = 90);
ALTER TABLE stream_heads ALTER COLUMN hash SET STATISTICS 0;

-- Copy the log as it stands; its ephemeral rows make the first range partition. Later ones
-- are made by the service, of the size it is configured with.
SELECT events_attach_range(1, max(global_position) + 1) FROM events HAVING count(*) > 0;
INSERT INTO events_partitioned (global_position, stream_id, stream_version, event_id,
                                event_type, schema_version, data, metadata, occurred_at,
                                tx_id, prev_hash, hash)
    OVERRIDING SYSTEM VALUE
SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version, data,
       metadata, occurred_at, tx_id, prev_hash, hash
FROM events ORDER BY global_position;
SELECT setval(pg_get_serial_sequence('events_partitioned', 'global_position'),
              greatest((SELECT max(global_position) FROM events), 1),
              (SELECT count(*) > 0 FROM events));

INSERT INTO stream_heads (stream_id, version, hash, first_position, last_position)
SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash,
       min(global_position) OVER (PARTITION BY stream_id), global_position
FROM events ORDER BY stream_id, stream_version DESC;

DROP TABLE events;
ALTER TABLE events_partitioned RENAME TO events;
ALTER SEQUENCE events_partitioned_global_position_seq RENAME TO events_global_position_seq;

-- Followers read by (tx_id, global_position); a stream is read by its id.
CREATE INDEX events_tx_position_idx ON events (tx_id, global_position);
CREATE INDEX events_stream_idx ON events (stream_id, stream_version);

ALTER TABLE events
    ALTER COLUMN data SET STATISTICS 0,
    ALTER COLUMN metadata SET STATISTICS 0,
    ALTER COLUMN hash SET STATISTICS 0,
    ALTER COLUMN prev_hash SET STATISTICS 0,
    ALTER COLUMN event_id SET STATISTICS 0;

-- A new row must extend its stream's head: version 1 starts from the genesis hash and no
-- stream of that id may exist; a later version names the stored head's hash. Concurrent
-- appends to one stream queue on its head row, and the later one finds the head moved.
CREATE OR REPLACE FUNCTION events_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_version = 1 THEN
        IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'stream % must start from the genesis hash', NEW.stream_id
                USING ERRCODE = 'KL409';
        END IF;
        INSERT INTO stream_heads (stream_id, version, hash, first_position, last_position)
        VALUES (NEW.stream_id, 1, NEW.hash, NEW.global_position, NEW.global_position)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE stream_heads
        SET version = NEW.stream_version, hash = NEW.hash, last_position = NEW.global_position
        WHERE stream_id = NEW.stream_id
          AND version = NEW.stream_version - 1
          AND hash = NEW.prev_hash;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stream % is not at version % with the given head',
            NEW.stream_id, NEW.stream_version - 1
            USING ERRCODE = 'KL409';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER events_extend_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_extend_chain();
CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

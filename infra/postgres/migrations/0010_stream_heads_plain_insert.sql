-- A stream's first row claims its head with a plain INSERT: a second stream of the same id
-- fails on stream_heads' key (23505 on stream_heads_pkey, which appends report as a
-- conflict, like KL409). ON CONFLICT DO NOTHING cost each fresh stream a speculative
-- insertion (an index probe first, then a confirming WAL record): about a third of the
-- trigger's time per row, and most rows start a stream.
CREATE OR REPLACE FUNCTION events_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_version = 1 THEN
        IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'stream % must start from the genesis hash', NEW.stream_id
                USING ERRCODE = 'KL409';
        END IF;
        INSERT INTO stream_heads (stream_id, version, hash, first_position, last_position)
        VALUES (NEW.stream_id, 1, NEW.hash, NEW.global_position, NEW.global_position);
    ELSE
        UPDATE stream_heads
        SET version = NEW.stream_version, hash = NEW.hash, last_position = NEW.global_position
        WHERE stream_id = NEW.stream_id
          AND version = NEW.stream_version - 1
          AND hash = NEW.prev_hash;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % is not at version % with the given head',
                NEW.stream_id, NEW.stream_version - 1
                USING ERRCODE = 'KL409';
        END IF;
    END IF;
    RETURN NEW;
END $$;

-- No planner statistics for the log's payload and hash columns: no query filters on them (an
-- event is found by position, stream or its unique id), yet ANALYZE would sort a sample of
-- their values on every run, which is most of what autovacuum costs a young, fast-growing log.
ALTER TABLE events
    ALTER COLUMN data SET STATISTICS 0,
    ALTER COLUMN metadata SET STATISTICS 0,
    ALTER COLUMN hash SET STATISTICS 0,
    ALTER COLUMN prev_hash SET STATISTICS 0,
    ALTER COLUMN event_id SET STATISTICS 0;

-- Per-person data keys (schemas/personal_data.py): personal values in events are sealed
-- under the key of the person they belong to, so erasing someone is destroying one key,
-- never rewriting the log (DECISIONS.md 31). Not a projection: the log cannot rebuild it.
CREATE TABLE subject_keys (
    -- A user id: whose data the key seals.
    subject_id text        PRIMARY KEY,
    -- Named by every value sealed under the key ("pd1:<key_id>:..."); never reused.
    key_id     text        NOT NULL UNIQUE,
    -- 32 random bytes (AES-256-GCM), sealed under the master key; NULL once erased.
    sealed_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The tombstone: an erased person's key is never made again, so nothing of theirs is
    -- sealed anew under a key someone could hold.
    erased_at  timestamptz,
    CHECK ((erased_at IS NULL) = (sealed_key IS NOT NULL))
);

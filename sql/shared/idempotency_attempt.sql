-- idempotency_attempt.sql: which run holds a running key (lib/idem.c). A retry that takes over a
-- run that died (its lease passed) is the next attempt; only the holder may finish or release
-- the key, so that a run that was only slow cannot overwrite the answer of the one that took over.
ALTER TABLE idempotency_keys ADD COLUMN attempt INT UNSIGNED NOT NULL DEFAULT 1 AFTER state;

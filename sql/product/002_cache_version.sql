-- 002_cache_version.sql: every change of a product moves its cache version on, in the same UPDATE: a cached copy is keyed by it, so one the change could not delete is never read again.
ALTER TABLE products ADD COLUMN cache_version BIGINT UNSIGNED NOT NULL DEFAULT 0;

-- idempotency.sql: Idempotency-Key records of lib/idem.c (linked as a migration by every service that takes the header,
-- followed by idempotency_attempt.sql, which lib/idem.c also needs).
-- One row per (caller, key): the hash of the request it was first used with, whether that
-- request is still running (with a lease, so a crashed one can be taken over), and the answer.
CREATE TABLE idempotency_keys (
  caller       BIGINT UNSIGNED NOT NULL,
  idem_key     VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_hash BINARY(32) NOT NULL,
  state        ENUM('running','done') NOT NULL DEFAULT 'running',
  lease_until  DATETIME(3) NOT NULL,
  http_status  SMALLINT UNSIGNED NULL,
  location     VARCHAR(255) NULL,
  response     MEDIUMTEXT NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (caller, idem_key),
  KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

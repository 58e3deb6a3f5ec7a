-- 005_idempotency_shared.sql: POST /orders keys move to lib/idem's table, the one every service
-- that takes an Idempotency-Key uses (sql/shared/idempotency.sql with idempotency_attempt.sql),
-- so that one module owns the header. Rows are kept: a running key keeps its attempt and lease,
-- a done one its answer, with the order's Location. The hash of a key written before this
-- migration is the body's SHA-256, which lib/idem does not compute: a replay of such a key (at
-- most IDEM_KEEP_HOURS old) is answered 422 idempotency_mismatch, and never places an order.
ALTER TABLE idempotency_keys
  CHANGE COLUMN user_id caller BIGINT UNSIGNED NOT NULL,
  ADD COLUMN request_hash BINARY(32) NULL AFTER idem_key,
  CHANGE COLUMN status state ENUM('running','done') NOT NULL DEFAULT 'running',
  CHANGE COLUMN response_status http_status SMALLINT UNSIGNED NULL,
  ADD COLUMN location VARCHAR(255) NULL AFTER http_status,
  CHANGE COLUMN response_body response MEDIUMTEXT NULL,
  MODIFY COLUMN created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  RENAME INDEX idempotency_keys_created TO idempotency_created;

UPDATE idempotency_keys
   SET request_hash = UNHEX(body_hash),
       location = IF(order_id IS NULL, NULL, CONCAT('/api/v1/orders/', order_id));

ALTER TABLE idempotency_keys
  DROP COLUMN body_hash,
  DROP COLUMN order_id,
  MODIFY COLUMN request_hash BINARY(32) NOT NULL;

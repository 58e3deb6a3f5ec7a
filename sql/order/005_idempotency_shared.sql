-- 005_idempotency_shared.sql: POST /orders keys move to lib/idem's table, the one every service
-- that takes an Idempotency-Key uses (sql/shared/idempotency.sql with idempotency_attempt.sql),
-- so that one module owns the header. Rows are kept: a running key keeps its attempt and lease,
-- a done one its answer, with the order's Location. The hash of a key written before this
-- migration is the body's SHA-256, which lib/idem does not compute: a replay of such a key (at
-- most IDEM_KEEP_HOURS old) is answered 422 idempotency_mismatch, and never places an order.
-- MariaDB cannot roll DDL back, so each step may run again after a failure part-way
-- (IF EXISTS / IF NOT EXISTS, and the copy only while the old column is there).
ALTER TABLE idempotency_keys
  CHANGE COLUMN IF EXISTS user_id caller BIGINT UNSIGNED NOT NULL,
  ADD COLUMN IF NOT EXISTS request_hash BINARY(32) NULL AFTER idem_key,
  CHANGE COLUMN IF EXISTS status state ENUM('running','done') NOT NULL DEFAULT 'running',
  CHANGE COLUMN IF EXISTS response_status http_status SMALLINT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS location VARCHAR(255) NULL AFTER http_status,
  CHANGE COLUMN IF EXISTS response_body response MEDIUMTEXT NULL,
  MODIFY COLUMN created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  DROP INDEX IF EXISTS idempotency_keys_created,
  ADD INDEX IF NOT EXISTS idempotency_created (created_at);

-- The old columns are read through dynamic SQL, so that a run after they are gone is a no-op.
SET @copy = IF((SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()
                 AND table_name = 'idempotency_keys' AND column_name = 'body_hash') = 1,
  'UPDATE idempotency_keys SET request_hash = UNHEX(body_hash), location = IF(order_id IS NULL, NULL, CONCAT(''/api/v1/orders/'', order_id))',
  'DO 0');
PREPARE copy_stmt FROM @copy;
EXECUTE copy_stmt;
DEALLOCATE PREPARE copy_stmt;

ALTER TABLE idempotency_keys
  DROP COLUMN IF EXISTS body_hash,
  DROP COLUMN IF EXISTS order_id,
  MODIFY COLUMN request_hash BINARY(32) NOT NULL;

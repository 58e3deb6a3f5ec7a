-- outbox.sql: the transactional outbox of lib/outbox.c (linked as a migration by every service that uses it).
-- A row is written in the same transaction as the change that causes it; the service's relay
-- thread delivers it (an e-mail job onto the Redis stream, or an internal HTTP call) and marks it.
CREATE TABLE outbox (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind        ENUM('job','call') NOT NULL,
  target      VARCHAR(300) NOT NULL,           -- job: the job type; call: "POST /internal/..."
  payload     MEDIUMTEXT NOT NULL,             -- the job document, or the call's JSON body ('' for none)
  request_id  VARCHAR(64) NOT NULL,
  status      ENUM('pending','sent','failed') NOT NULL DEFAULT 'pending',
  attempts    INT UNSIGNED NOT NULL DEFAULT 0,
  next_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_error  VARCHAR(255) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  done_at     DATETIME(3) NULL,
  KEY outbox_due (status, next_at),
  CONSTRAINT outbox_payload_json CHECK (payload = '' OR JSON_VALID(payload))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

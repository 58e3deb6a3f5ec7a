-- 001_payments.sql: payments (card brand, last 4 and expiry only: never the number or CVC) and their refunds.
CREATE TABLE payments (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id       BIGINT UNSIGNED NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  amount         BIGINT NOT NULL,
  currency       CHAR(3) NOT NULL,
  status         ENUM('processing','succeeded','declined','failed','partially_refunded','refunded') NOT NULL,
  refunded       BIGINT NOT NULL DEFAULT 0,
  provider       VARCHAR(32) NOT NULL,
  provider_ref   VARCHAR(64) NULL,
  decline_code   VARCHAR(48) NULL,
  brand          VARCHAR(16) NOT NULL,
  last4          CHAR(4) NOT NULL,
  exp_month      TINYINT UNSIGNED NOT NULL,
  exp_year       SMALLINT UNSIGNED NOT NULL,
  -- An order has at most one payment that is running or took money: a second one is refused
  -- by this key, whatever the concurrency (declined and failed attempts leave it NULL).
  holding_order  BIGINT UNSIGNED GENERATED ALWAYS AS
                   (IF(status IN ('processing','succeeded','partially_refunded','refunded'), order_id, NULL)) STORED,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY payments_holding_order (holding_order),
  KEY payments_order (order_id),
  KEY payments_user (user_id, id),
  KEY payments_status (status, updated_at),
  CONSTRAINT payments_amount CHECK (amount > 0),
  CONSTRAINT payments_refunded CHECK (refunded >= 0 AND refunded <= amount)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refunds (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  payment_id    BIGINT UNSIGNED NOT NULL,
  amount        BIGINT NOT NULL,
  reason        VARCHAR(200) NOT NULL,
  actor         VARCHAR(40) NOT NULL,
  status        ENUM('pending','succeeded','failed') NOT NULL DEFAULT 'pending',
  provider_ref  VARCHAR(64) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY refunds_payment (payment_id),
  CONSTRAINT refunds_payment_fk FOREIGN KEY (payment_id) REFERENCES payments (id),
  CONSTRAINT refunds_amount CHECK (amount > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

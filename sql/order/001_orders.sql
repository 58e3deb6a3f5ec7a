-- 001_orders.sql: orders with their lines (a price snapshot), status history, and the Idempotency-Keys of POST /orders.
CREATE TABLE orders (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  -- The reference every downstream call carries (the inventory reservation's order_ref).
  order_ref        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id          BIGINT UNSIGNED NOT NULL,
  -- The owner's address and name when the order was placed: its e-mails go there.
  email            VARCHAR(254) NOT NULL,
  customer_name    VARCHAR(100) NOT NULL,
  status           ENUM('pending_payment','paid','shipped','delivered','cancelled','expired','refunded') NOT NULL,
  currency         CHAR(3) CHARACTER SET ascii NOT NULL,
  subtotal         BIGINT NOT NULL,
  shipping         BIGINT NOT NULL,
  total            BIGINT NOT NULL,
  ship_name        VARCHAR(100) NOT NULL,
  ship_line1       VARCHAR(200) NOT NULL,
  ship_line2       VARCHAR(200) NULL,
  ship_city        VARCHAR(100) NOT NULL,
  ship_postal_code VARCHAR(16) NOT NULL,
  ship_country     CHAR(2) CHARACTER SET ascii NOT NULL,
  ship_phone       VARCHAR(32) NULL,
  note             VARCHAR(1000) NULL,
  carrier          VARCHAR(100) NULL,
  tracking_number  VARCHAR(100) NULL,
  payment_id       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  expires_at       DATETIME NOT NULL,
  placed_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY orders_ref (order_ref),
  KEY orders_user (user_id, id),
  KEY orders_status_expiry (status, expires_at),
  KEY orders_placed (placed_at),
  CONSTRAINT orders_money CHECK (subtotal >= 0 AND shipping >= 0 AND total = subtotal + shipping)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_lines (
  order_id    BIGINT UNSIGNED NOT NULL,
  line_no     INT UNSIGNED NOT NULL,
  product_id  BIGINT UNSIGNED NOT NULL,
  sku         VARCHAR(64) NOT NULL,
  name        VARCHAR(200) NOT NULL,
  unit_price  BIGINT NOT NULL,
  quantity    INT UNSIGNED NOT NULL,
  line_total  BIGINT NOT NULL,
  PRIMARY KEY (order_id, line_no),
  KEY order_lines_product (product_id),
  CONSTRAINT order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT order_lines_money CHECK (quantity > 0 AND unit_price >= 0 AND line_total = unit_price * quantity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every transition: {from, to, at, actor, reason}; the first row (from NULL) is the placing.
CREATE TABLE order_history (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id     BIGINT UNSIGNED NOT NULL,
  from_status  VARCHAR(16) NULL,
  to_status    VARCHAR(16) NOT NULL,
  actor        VARCHAR(40) NOT NULL, -- "user:42", "staff:7", "payment", "system"
  reason       VARCHAR(500) NULL,
  at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY order_history_order (order_id, id),
  CONSTRAINT order_history_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- POST /orders by (caller, Idempotency-Key): the body's hash, who holds it (attempt and lease)
-- while it runs, and the answer once it is done.
CREATE TABLE idempotency_keys (
  user_id          BIGINT UNSIGNED NOT NULL,
  idem_key         VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  body_hash        CHAR(64) CHARACTER SET ascii NOT NULL,
  status           ENUM('running','done') NOT NULL DEFAULT 'running',
  attempt          INT UNSIGNED NOT NULL DEFAULT 1,
  lease_until      DATETIME(3) NOT NULL,
  order_id         BIGINT UNSIGNED NULL,
  response_status  SMALLINT UNSIGNED NULL,
  response_body    MEDIUMTEXT NULL,
  created_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id, idem_key),
  KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

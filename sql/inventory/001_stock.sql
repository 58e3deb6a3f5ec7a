-- 001_stock.sql: stock levels, the movements ledger, and reservations.
CREATE TABLE stock (
  product_id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  on_hand             BIGINT NOT NULL DEFAULT 0,
  reserved            BIGINT NOT NULL DEFAULT 0,
  low_stock_threshold BIGINT NOT NULL DEFAULT 0,
  low_stock_alerted   BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY stock_low (low_stock_threshold),
  -- The invariants, enforced by the database as a last line behind the conditional updates.
  CONSTRAINT stock_on_hand_nonneg CHECK (on_hand >= 0),
  CONSTRAINT stock_reserved_nonneg CHECK (reserved >= 0),
  CONSTRAINT stock_reserved_le_on_hand CHECK (reserved <= on_hand),
  CONSTRAINT stock_threshold_nonneg CHECK (low_stock_threshold >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE stock_movements (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id    BIGINT UNSIGNED NOT NULL,
  delta         BIGINT NOT NULL,
  reason        ENUM('received','damaged','lost','returned','correction','sold') NOT NULL,
  reference     VARCHAR(100) NOT NULL DEFAULT '',
  actor         VARCHAR(64) NOT NULL,
  on_hand_after BIGINT NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY movements_product (product_id, id),
  CONSTRAINT movements_stock_fk FOREIGN KEY (product_id) REFERENCES stock (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reservations (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_ref  VARCHAR(64) NOT NULL,
  status     ENUM('active','committed','released','expired') NOT NULL DEFAULT 'active',
  expires_at DATETIME(3) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY reservations_ref (order_ref),
  KEY reservations_expiry (status, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reservation_items (
  reservation_id BIGINT UNSIGNED NOT NULL,
  product_id     BIGINT UNSIGNED NOT NULL,
  quantity       BIGINT NOT NULL,
  PRIMARY KEY (reservation_id, product_id),
  CONSTRAINT items_reservation_fk FOREIGN KEY (reservation_id) REFERENCES reservations (id),
  CONSTRAINT items_quantity_pos CHECK (quantity > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 001_carts.sql: shoppers' carts (one per signed-in user, or a guest's, found by its hashed token) and their lines.
CREATE TABLE carts (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  -- Exactly one of the two identities: a signed-in user's id, or the hex BLAKE2b-256 of a guest
  -- token (the token itself is never stored).
  user_id    BIGINT UNSIGNED NULL,
  token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  -- ISO 4217 code of the lines' prices; set by the first line, NULL while the cart is empty.
  currency   CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NULL,
  -- Bumped by every change, in the same transaction (If-Match, the order service's clear).
  version    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- Last change or read (reads refresh it at most once a day): guest carts idle for 30 days expire.
  seen_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY carts_user (user_id),
  UNIQUE KEY carts_token (token_hash),
  KEY carts_guest_idle (user_id, seen_at),
  CONSTRAINT carts_one_owner CHECK ((user_id IS NULL) <> (token_hash IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE cart_items (
  cart_id      BIGINT UNSIGNED NOT NULL,
  product_id   BIGINT UNSIGNED NOT NULL,
  quantity     INT NOT NULL,
  -- The catalogue price when the line was last set, to flag a price change on later reads
  -- (the cart never charges: the order takes prices from the product service).
  added_price  BIGINT NOT NULL,
  -- The cart version that last set this line: the order service clears lines up to a version.
  line_version BIGINT UNSIGNED NOT NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (cart_id, product_id),
  CONSTRAINT cart_items_cart_fk FOREIGN KEY (cart_id) REFERENCES carts (id) ON DELETE CASCADE,
  CONSTRAINT cart_items_quantity CHECK (quantity BETWEEN 1 AND 99)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

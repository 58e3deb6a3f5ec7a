-- 001_catalog.sql: categories (a tree) and products.
CREATE TABLE categories (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name       VARCHAR(100) NOT NULL,
  slug       VARCHAR(120) NOT NULL,
  parent_id  BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY categories_slug (slug),
  KEY categories_parent (parent_id),
  CONSTRAINT categories_parent_fk FOREIGN KEY (parent_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku          VARCHAR(64) NOT NULL,
  name         VARCHAR(200) NOT NULL,
  slug         VARCHAR(220) NOT NULL,
  description  TEXT NOT NULL,
  price        BIGINT NOT NULL,
  currency     CHAR(3) NOT NULL,
  category_id  BIGINT UNSIGNED NULL,
  status       ENUM('draft','active','archived') NOT NULL DEFAULT 'draft',
  images       TEXT NOT NULL,
  attributes   TEXT NOT NULL,
  rating_avg   DECIMAL(3,2) NOT NULL DEFAULT 0,
  rating_count INT UNSIGNED NOT NULL DEFAULT 0,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY products_sku (sku),
  UNIQUE KEY products_slug (slug),
  KEY products_category (category_id, status, price),
  KEY products_status_price (status, price),
  KEY products_status_name (status, name),
  KEY products_status_created (status, created_at),
  KEY products_status_rating (status, rating_avg),
  FULLTEXT KEY products_text (name, description),
  CONSTRAINT products_category_fk FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT products_price_range CHECK (price >= 0),
  CONSTRAINT products_images_json CHECK (JSON_VALID(images)),
  CONSTRAINT products_attributes_json CHECK (JSON_VALID(attributes))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

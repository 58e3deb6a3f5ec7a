-- 001_reviews.sql: product reviews by verified buyers, "helpful" votes, moderation history, and each product's rating aggregate.
CREATE TABLE reviews (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id     BIGINT UNSIGNED NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  -- The author's display name when the review was written (never the e-mail).
  author_name    VARCHAR(200) NOT NULL,
  rating         TINYINT UNSIGNED NOT NULL,
  title          VARCHAR(120) NOT NULL,
  body           TEXT NOT NULL,
  status         ENUM('visible','hidden') NOT NULL DEFAULT 'visible',
  hidden_reason  VARCHAR(500) NULL,
  helpful_count  INT UNSIGNED NOT NULL DEFAULT 0,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- One review per user and product, whatever the concurrency.
  UNIQUE KEY reviews_user_product (user_id, product_id),
  KEY reviews_product_new (product_id, status, created_at),
  KEY reviews_product_rating (product_id, status, rating),
  KEY reviews_product_helpful (product_id, status, helpful_count),
  KEY reviews_status (status, id),
  CONSTRAINT reviews_rating CHECK (rating BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per user who found a review helpful: the primary key makes "once" atomic.
CREATE TABLE review_helpful (
  review_id   BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (review_id, user_id),
  CONSTRAINT review_helpful_review_fk FOREIGN KEY (review_id) REFERENCES reviews (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every hide and unhide, by whom and why.
CREATE TABLE review_moderation (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  review_id   BIGINT UNSIGNED NOT NULL,
  action      ENUM('hide','unhide') NOT NULL,
  reason      VARCHAR(500) NULL,
  actor       BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY review_moderation_review (review_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The visible reviews of a product, counted: rewritten from a recount in the transaction of
-- every change, under this row's lock (which also serialises the changes of one product).
CREATE TABLE rating_aggregates (
  product_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  count        INT UNSIGNED NOT NULL DEFAULT 0,
  total        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  r1           INT UNSIGNED NOT NULL DEFAULT 0,
  r2           INT UNSIGNED NOT NULL DEFAULT 0,
  r3           INT UNSIGNED NOT NULL DEFAULT 0,
  r4           INT UNSIGNED NOT NULL DEFAULT 0,
  r5           INT UNSIGNED NOT NULL DEFAULT 0,
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 003_catalog_version.sql: one version for the whole catalogue, moved on in the same transaction as every change of a product or a category (lib/cache: list and search pages are cached under it, so a change that has answered is never served old).
CREATE TABLE catalog_version (
  id      TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  version BIGINT UNSIGNED NOT NULL,
  CONSTRAINT catalog_version_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO catalog_version (id, version) VALUES (1, 1);

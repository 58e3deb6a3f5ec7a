-- 10-product.sql: the demo catalogue (scripts/store seed): 36 nested categories and 10,000 products.
-- Idempotent: rows are keyed by slug and sku, so running it again changes nothing.
-- Uses MariaDB's built-in SEQUENCE engine (seq_1_to_10000) to generate rows.
INSERT IGNORE INTO categories (name, slug, parent_id) VALUES
  ('Electronics','demo-electronics',NULL),
  ('Home','demo-home',NULL),
  ('Garden','demo-garden',NULL),
  ('Sports','demo-sports',NULL),
  ('Books','demo-books',NULL),
  ('Fashion','demo-fashion',NULL);
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Phones', 'demo-electronics-phones', id FROM categories WHERE slug = 'demo-electronics';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Laptops', 'demo-electronics-laptops', id FROM categories WHERE slug = 'demo-electronics';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Audio', 'demo-electronics-audio', id FROM categories WHERE slug = 'demo-electronics';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Cameras', 'demo-electronics-cameras', id FROM categories WHERE slug = 'demo-electronics';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Accessories', 'demo-electronics-accessories', id FROM categories WHERE slug = 'demo-electronics';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Kitchen', 'demo-home-kitchen', id FROM categories WHERE slug = 'demo-home';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Furniture', 'demo-home-furniture', id FROM categories WHERE slug = 'demo-home';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Lighting', 'demo-home-lighting', id FROM categories WHERE slug = 'demo-home';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Bedding', 'demo-home-bedding', id FROM categories WHERE slug = 'demo-home';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Storage', 'demo-home-storage', id FROM categories WHERE slug = 'demo-home';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Tools', 'demo-garden-tools', id FROM categories WHERE slug = 'demo-garden';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Plants', 'demo-garden-plants', id FROM categories WHERE slug = 'demo-garden';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Outdoor Furniture', 'demo-garden-outdoor-furniture', id FROM categories WHERE slug = 'demo-garden';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Watering', 'demo-garden-watering', id FROM categories WHERE slug = 'demo-garden';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Grills', 'demo-garden-grills', id FROM categories WHERE slug = 'demo-garden';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Running', 'demo-sports-running', id FROM categories WHERE slug = 'demo-sports';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Cycling', 'demo-sports-cycling', id FROM categories WHERE slug = 'demo-sports';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Camping', 'demo-sports-camping', id FROM categories WHERE slug = 'demo-sports';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Fitness', 'demo-sports-fitness', id FROM categories WHERE slug = 'demo-sports';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Swimming', 'demo-sports-swimming', id FROM categories WHERE slug = 'demo-sports';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Fiction', 'demo-books-fiction', id FROM categories WHERE slug = 'demo-books';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Science', 'demo-books-science', id FROM categories WHERE slug = 'demo-books';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'History', 'demo-books-history', id FROM categories WHERE slug = 'demo-books';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Children', 'demo-books-children', id FROM categories WHERE slug = 'demo-books';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Cooking', 'demo-books-cooking', id FROM categories WHERE slug = 'demo-books';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Shoes', 'demo-fashion-shoes', id FROM categories WHERE slug = 'demo-fashion';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Jackets', 'demo-fashion-jackets', id FROM categories WHERE slug = 'demo-fashion';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Bags', 'demo-fashion-bags', id FROM categories WHERE slug = 'demo-fashion';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Watches', 'demo-fashion-watches', id FROM categories WHERE slug = 'demo-fashion';
INSERT IGNORE INTO categories (name, slug, parent_id) SELECT 'Hats', 'demo-fashion-hats', id FROM categories WHERE slug = 'demo-fashion';

-- The 30 leaf categories, numbered 0..29, to spread products over.
CREATE TEMPORARY TABLE demo_leaf (n INT PRIMARY KEY, id BIGINT UNSIGNED NOT NULL);
INSERT INTO demo_leaf (n, id)
  SELECT ROW_NUMBER() OVER (ORDER BY c.id) - 1, c.id FROM categories c
  JOIN categories p ON p.id = c.parent_id WHERE p.slug LIKE 'demo-%' AND c.slug LIKE 'demo-%';

INSERT IGNORE INTO products (sku, name, slug, description, price, currency, category_id, status, images,
                             attributes, rating_avg, rating_count)
SELECT CONCAT('DEMO-', LPAD(s.seq, 5, '0')),
       CONCAT(ELT(1 + s.seq % 10, 'Classic', 'Premium', 'Compact', 'Deluxe', 'Eco', 'Smart', 'Vintage', 'Pro',
                  'Travel', 'Family'), ' ',
              ELT(1 + (s.seq DIV 10) % 12, 'Lamp', 'Chair', 'Kettle', 'Backpack', 'Speaker', 'Jacket', 'Tent',
                  'Novel', 'Watch', 'Bottle', 'Blender', 'Helmet'), ' ', s.seq),
       CONCAT('demo-product-', s.seq),
       CONCAT('A ', ELT(1 + s.seq % 5, 'sturdy', 'lightweight', 'handmade', 'award-winning', 'waterproof'),
              ' item for everyday use, model ', s.seq, '. ',
              ELT(1 + s.seq % 4, 'Ships in recycled packaging.', 'Two-year warranty.', 'Loved by reviewers.',
                  'Limited edition colours.')),
       199 + (s.seq * 7919) % 99800,
       'EUR',
       l.id,
       IF(s.seq % 50 = 0, 'draft', 'active'),
       CONCAT('["https://img.example.com/demo/', s.seq, '.jpg"]'),
       CONCAT('{"color":"', ELT(1 + s.seq % 6, 'red', 'blue', 'green', 'black', 'white', 'grey'), '"}'),
       ROUND(1 + (s.seq * 37 % 400) / 100, 2),
       s.seq * 13 % 250
FROM seq_1_to_10000 s
JOIN demo_leaf l ON l.n = s.seq % 30;

DROP TEMPORARY TABLE demo_leaf;

-- Written behind the service's back: move the catalogue's version on, so that no list or search
-- page cached before the seed is read again (sql/product/003_catalog_version.sql).
UPDATE catalog_version SET version = version + 1 WHERE id = 1;

-- 20-inventory.sql: stock for the demo catalogue (scripts/store seed), after 10-product.sql.
-- The seeding account is the stack's administrator, so it may read the product database to
-- learn the demo products' ids; the services themselves never cross databases.
-- Idempotent: existing stock rows are left alone; each new row gets its one 'received' movement,
-- so the ledger sums to on_hand.
INSERT IGNORE INTO stock (product_id, on_hand, low_stock_threshold)
SELECT id, 20 + id % 80, 5 FROM store_product.products WHERE sku LIKE 'DEMO-%';

INSERT INTO stock_movements (product_id, delta, reason, reference, actor, on_hand_after)
SELECT s.product_id, s.on_hand, 'received', 'seed', 'seed', s.on_hand
FROM stock s
WHERE s.on_hand > 0 AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.product_id = s.product_id);

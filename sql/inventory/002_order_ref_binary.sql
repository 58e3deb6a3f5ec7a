-- 002_order_ref_binary.sql: order references compare byte for byte ("Ord-1" and "ORD-1" are two orders).
ALTER TABLE reservations MODIFY order_ref VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

-- 008_order_refunded_early.sql: a refund of the whole payment the payment service reported while
-- the order was still pending payment (its "paid" call, from the same outbox, had not landed yet):
-- the refund's reason, kept until the payment lands, which then takes the order on to `refunded`
-- in the same transaction (not `paid`, to be shipped with its money returned).
ALTER TABLE orders ADD COLUMN refunded_early VARCHAR(96) NULL;

-- payment_contact.sql: the shopper's e-mail address and name as they were when the payment was
-- made (as the order keeps them), so that a refund can tell its shopper without asking the user
-- service. NULL for payments made before this migration: their refunds e-mail no one.
ALTER TABLE payments
  ADD COLUMN email VARCHAR(254) NULL AFTER user_id,
  ADD COLUMN customer_name VARCHAR(400) NULL AFTER email;

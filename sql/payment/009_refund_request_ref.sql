-- 009_refund_request_ref.sql: the staff request a refund was made for, when it came with an
-- Idempotency-Key: "<caller>:<key>". A retry that takes over a run that died finds the refund
-- that run made (pending: it is ended, not made again; succeeded: it is answered). A refund that
-- fails loses it, so that a retry with the key makes a new one.
ALTER TABLE refunds
  ADD COLUMN request_ref VARCHAR(300) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER actor,
  ADD UNIQUE KEY refunds_request_ref (request_ref);

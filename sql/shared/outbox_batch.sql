-- outbox_batch.sql: batch rows (lib/outbox's outbox_rows_batch): items the relay sends together,
-- one call for every due item of a round with the same target.
ALTER TABLE outbox MODIFY kind ENUM('job','call','batch') NOT NULL;

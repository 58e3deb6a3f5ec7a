-- outbox_pending_due.sql: the relay's index also holds next_at, so rows waiting out a retry
-- backoff are passed over inside the index. With (status, id) alone, every pending row before
-- the due ones was read from the table for its next_at: with 50,000 rows waiting (a receiver
-- down for a while), a relay round took 150-250 ms; with next_at in the index, 20-41 ms.
-- The name stays: lib/outbox.c's sql_due names it, and works before and after this migration.
ALTER TABLE outbox DROP KEY outbox_pending_id, ADD KEY outbox_pending_id (status, id, next_at);

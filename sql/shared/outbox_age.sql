-- outbox_age.sql: the age of the oldest pending row (lib/outbox's backlog, read by every metrics
-- scrape) from an index, not from every pending row: a large backlog is when it matters most.
ALTER TABLE outbox ADD KEY outbox_pending_age (status, created_at);
